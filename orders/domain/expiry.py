"""Unpaid orders expire. Pure.

An order's ``expires_at`` is stamped when it is placed, ``ORDER_PAYMENT_MINUTES``
later (``0``: never, so null); it is null unless the order is pending (orders
already pending when expiry is first deployed are stamped from the upgrade's
time). A pending order is due to expire once its ``expires_at`` has come;
the system then moves it to ``expired`` (a move only the system makes:
:data:`orders.domain.status.SYSTEM_ONLY`).
"""

from datetime import datetime, timedelta

from orders.domain.status import Status

NEVER = 0  # ORDER_PAYMENT_MINUTES that means unpaid orders never expire


def expires_at_for(placed_at: datetime, payment_minutes: int) -> datetime | None:
    """When an order placed (or, for an order pending before expiry was
    deployed, upgraded) at ``placed_at`` expires: ``payment_minutes`` later,
    or None when ``payment_minutes`` is 0 (never). Negative minutes are a
    misconfiguration: :class:`ValueError`."""
    if payment_minutes < 0:
        raise ValueError(f"payment_minutes must be 0 (never) or more, not {payment_minutes}")
    if payment_minutes == NEVER:
        return None
    return placed_at + timedelta(minutes=payment_minutes)


def expires_at_in(status: Status, expires_at: datetime | None) -> datetime | None:
    """An order's ``expires_at`` once it is in ``status``: kept while it is
    pending, null in every other status."""
    return expires_at if status == Status.PENDING else None


def is_due(status: Status, expires_at: datetime | None, now: datetime) -> bool:
    """Whether an order is due to expire at ``now``: it is pending and has an
    ``expires_at`` that is not after ``now``."""
    return status == Status.PENDING and expires_at is not None and expires_at <= now
