"""The status machine, every pair: pure, no database (pytest-django refuses a query here)."""

from itertools import product

import pytest

from orders.domain.status import (
    FINAL,
    SYSTEM_ONLY,
    Status,
    can_request_transition,
    can_transition,
    check_requested_transition,
    check_transition,
)
from orders.errors import InvalidTransition

ALLOWED = {
    (Status.PENDING, Status.PAID),
    (Status.PAID, Status.SHIPPED),
    (Status.SHIPPED, Status.DELIVERED),
    (Status.DELIVERED, Status.RETURNED),
    (Status.PENDING, Status.CANCELLED),
    (Status.PAID, Status.CANCELLED),
    (Status.PENDING, Status.EXPIRED),
}
# What someone may ask for: all but the moves only the system makes.
REQUESTABLE = ALLOWED - {(Status.DELIVERED, Status.RETURNED), (Status.PENDING, Status.EXPIRED)}
PAIRS = list(product(Status, repeat=2))
IDS = [f"{a}->{b}" for a, b in PAIRS]


def refusal(check, current: Status, target: Status, **kwargs):
    with pytest.raises(InvalidTransition) as exc:
        check(current, target, **kwargs)
    assert exc.value.status == 409
    ((problem,),) = (exc.value.problems,)
    assert problem.code == "invalid_transition"
    assert current.value in problem.detail and target.value in problem.detail
    return problem


def test_the_machine_has_exactly_seven_statuses():
    assert {s.value for s in Status} == {
        "pending", "paid", "shipped", "delivered", "returned", "cancelled", "expired",
    }  # fmt: skip
    assert len(PAIRS) == 49


@pytest.mark.parametrize(("current", "target"), PAIRS, ids=IDS)
def test_status_transition_is_allowed_exactly_by_the_table(current, target):
    allowed = (current, target) in ALLOWED
    assert can_transition(current, target) is allowed
    if allowed:
        check_transition(current, target)
        return
    refusal(check_transition, current, target)


@pytest.mark.parametrize(("current", "target"), PAIRS, ids=IDS)
def test_a_requested_transition_is_allowed_exactly_by_the_table_less_the_system_moves(current, target):
    allowed = (current, target) in REQUESTABLE
    assert can_request_transition(current, target) is allowed
    if allowed:
        check_requested_transition(current, target)
        return
    refusal(check_requested_transition, current, target)


def test_expired_and_returned_are_reached_only_by_the_system():
    assert set(SYSTEM_ONLY) == {Status.EXPIRED, Status.RETURNED}
    expired = refusal(check_requested_transition, Status.PENDING, Status.EXPIRED)
    assert "on request" in expired.detail and "time to pay" in expired.detail
    returned = refusal(check_requested_transition, Status.DELIVERED, Status.RETURNED)
    assert "on request" in returned.detail and "every unit" in returned.detail
    # The services' own check lets the system make them.
    check_transition(Status.PENDING, Status.EXPIRED)
    check_transition(Status.DELIVERED, Status.RETURNED)


def test_a_system_target_the_table_forbids_anyway_gets_the_plain_refusal():
    problem = refusal(check_requested_transition, Status.PAID, Status.EXPIRED)
    assert problem.detail == "An order cannot go from paid to expired."


@pytest.mark.parametrize("check", [check_transition, check_requested_transition])
def test_a_refusal_is_reported_on_the_attr_that_asked(check):
    assert refusal(check, Status.CANCELLED, Status.PAID).attr == "status"
    assert refusal(check, Status.CANCELLED, Status.PAID, attr=None).attr is None
    assert refusal(check, Status.PENDING, Status.RETURNED, attr="target").attr == "target"


def test_returned_cancelled_and_expired_are_final():
    assert {Status.RETURNED, Status.CANCELLED, Status.EXPIRED} == FINAL
    for final in FINAL:
        assert not any(can_transition(final, target) for target in Status)


def test_delivered_leads_only_to_returned():
    assert [target for target in Status if can_transition(Status.DELIVERED, target)] == [Status.RETURNED]
    assert not any(can_request_transition(Status.DELIVERED, target) for target in Status)
