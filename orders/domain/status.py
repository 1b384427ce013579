"""The order status machine, as a table.

pending → paid → shipped → delivered → returned, pending|paid → cancelled,
and pending → expired. Nothing else.

Two targets are the system's own (:data:`SYSTEM_ONLY`): an order becomes
``expired`` only when its payment time runs out (:mod:`orders.domain.expiry`),
and ``returned`` only when recorded returns bring every unit back
(:mod:`orders.domain.returns`). A move someone asks for (the API's
``transition``, the admin) is checked with :func:`check_requested_transition`,
which refuses those two; the services that expire an order or record its last
return check with :func:`check_transition`, which follows the table alone.
"""

from enum import StrEnum

from config.domain_errors import Problem
from orders.errors import InvalidTransition


class Status(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    RETURNED = "returned"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.PAID, Status.CANCELLED, Status.EXPIRED}),
    Status.PAID: frozenset({Status.SHIPPED, Status.CANCELLED}),
    Status.SHIPPED: frozenset({Status.DELIVERED}),
    Status.DELIVERED: frozenset({Status.RETURNED}),
    Status.RETURNED: frozenset(),
    Status.CANCELLED: frozenset(),
    Status.EXPIRED: frozenset(),
}

# Reached only by the system, never on request: why, in the words a refusal gives.
SYSTEM_ONLY: dict[Status, str] = {
    Status.EXPIRED: "an order expires only when its time to pay runs out",
    Status.RETURNED: "an order becomes returned only when recorded returns bring every unit back",
}

# No move leads out of these.
FINAL: frozenset[Status] = frozenset(status for status, targets in TRANSITIONS.items() if not targets)


def can_transition(current: Status, target: Status) -> bool:
    """Whether the table allows ``current → target`` (for the system as well as on request)."""
    return target in TRANSITIONS[current]


def can_request_transition(current: Status, target: Status) -> bool:
    """Whether someone may ask for ``current → target``: the table allows it
    and ``target`` is not one only the system reaches."""
    return can_transition(current, target) and target not in SYSTEM_ONLY


def check_transition(current: Status, target: Status, *, attr: str | None = "status") -> None:
    """Raise :class:`InvalidTransition` unless the table allows ``current → target``.

    For the services' own moves (expiry, the last return) and for every move
    the table allows on request; a move someone asks for must also pass
    :func:`check_requested_transition`.
    """
    if not can_transition(current, target):
        raise InvalidTransition(
            Problem(InvalidTransition.code, f"An order cannot go from {current.value} to {target.value}.", attr)
        )


def check_requested_transition(current: Status, target: Status, *, attr: str | None = "status") -> None:
    """Raise :class:`InvalidTransition` unless someone may ask for ``current → target``.

    The table must allow it (:func:`check_transition`), and ``target`` must not
    be one only the system reaches (``expired``, ``returned``): asking for
    either is refused even where the table has the move. Reported on ``attr``,
    the input that asked for the move.
    """
    check_transition(current, target, attr=attr)
    if (why := SYSTEM_ONLY.get(target)) is not None:
        raise InvalidTransition(
            Problem(
                InvalidTransition.code,
                f"An order cannot be moved from {current.value} to {target.value} on request: {why}.",
                attr,
            )
        )
