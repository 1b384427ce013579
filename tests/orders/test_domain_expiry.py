"""Unpaid-order expiry, pure: no database (pytest-django refuses a query here)."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orders.domain.expiry import expires_at_for, expires_at_in, is_due
from orders.domain.status import Status

PLACED = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (60, datetime(2026, 6, 1, 13, 0, tzinfo=UTC)),  # the default
        (1, datetime(2026, 6, 1, 12, 1, tzinfo=UTC)),
        (24 * 60, datetime(2026, 6, 2, 12, 0, tzinfo=UTC)),
        (0, None),  # never
    ],
)
def test_expires_at_for_is_payment_minutes_after_placing_or_never(minutes, expected):
    assert expires_at_for(PLACED, minutes) == expected


def test_expires_at_for_keeps_the_time_zone():
    assert expires_at_for(PLACED, 60).tzinfo is UTC


def test_expires_at_for_refuses_negative_minutes():
    with pytest.raises(ValueError, match="-1"):
        expires_at_for(PLACED, -1)


@pytest.mark.parametrize("status", list(Status))
def test_expires_at_is_kept_only_while_pending(status):
    stamped = PLACED + timedelta(hours=1)
    assert expires_at_in(status, stamped) == (stamped if status is Status.PENDING else None)
    assert expires_at_in(status, None) is None


@pytest.mark.parametrize(
    ("status", "expires_at", "now", "due"),
    [
        (Status.PENDING, PLACED, PLACED - SECOND, False),
        (Status.PENDING, PLACED, PLACED, True),  # its expires_at has come
        (Status.PENDING, PLACED, PLACED + SECOND, True),
        (Status.PENDING, PLACED, PLACED + timedelta(days=30), True),
        (Status.PENDING, None, PLACED + timedelta(days=30), False),  # ORDER_PAYMENT_MINUTES=0
        # Paid (or gone past pending) in time: never due, whatever a stale stamp says.
        (Status.PAID, PLACED, PLACED + SECOND, False),
        (Status.CANCELLED, PLACED, PLACED + SECOND, False),
        (Status.EXPIRED, PLACED, PLACED + SECOND, False),  # already expired: running twice does nothing
    ],
)
def test_is_due_exactly_when_pending_and_its_expires_at_has_come(status, expires_at, now, due):
    assert is_due(status, expires_at, now) is due


# --- Hypothesis -------------------------------------------------------------------

instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


@given(st.sampled_from(Status), instants, st.integers(0, 7 * 24 * 60), st.integers(-(10**7), 10**7))
def test_an_order_is_due_exactly_when_pending_and_its_payment_minutes_have_passed(status, placed, minutes, offset):
    now = placed + timedelta(seconds=offset)
    expires_at = expires_at_for(placed, minutes)
    due = is_due(status, expires_at, now)
    if status is not Status.PENDING or minutes == 0:
        assert not due
    else:
        assert due is (now - placed >= timedelta(minutes=minutes))
