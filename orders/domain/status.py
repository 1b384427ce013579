"""The order status machine, as a table.

pending → paid → shipped → delivered, and pending|paid → cancelled. Nothing else.
"""

from enum import StrEnum

from config.domain_errors import Problem
from orders.errors import InvalidTransition


class Status(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.PAID, Status.CANCELLED}),
    Status.PAID: frozenset({Status.SHIPPED, Status.CANCELLED}),
    Status.SHIPPED: frozenset({Status.DELIVERED}),
    Status.DELIVERED: frozenset(),
    Status.CANCELLED: frozenset(),
}


def can_transition(current: Status, target: Status) -> bool:
    return target in TRANSITIONS[current]


def check_transition(current: Status, target: Status, *, attr: str | None = "status") -> None:
    """Raise :class:`InvalidTransition` unless the table allows ``current → target``."""
    if not can_transition(current, target):
        raise InvalidTransition(
            Problem(InvalidTransition.code, f"An order cannot go from {current.value} to {target.value}.", attr)
        )
