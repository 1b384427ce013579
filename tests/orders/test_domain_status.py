"""The status machine, every pair: pure, no database (pytest-django refuses a query here)."""

from itertools import product

import pytest

from orders.domain.status import Status, can_transition, check_transition
from orders.errors import InvalidTransition

ALLOWED = {
    (Status.PENDING, Status.PAID),
    (Status.PAID, Status.SHIPPED),
    (Status.SHIPPED, Status.DELIVERED),
    (Status.PENDING, Status.CANCELLED),
    (Status.PAID, Status.CANCELLED),
}
PAIRS = list(product(Status, repeat=2))


def test_the_machine_has_exactly_five_statuses():
    assert {s.value for s in Status} == {"pending", "paid", "shipped", "delivered", "cancelled"}
    assert len(PAIRS) == 25


@pytest.mark.parametrize(("current", "target"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_status_transition_is_allowed_exactly_by_the_table(current, target):
    allowed = (current, target) in ALLOWED
    assert can_transition(current, target) is allowed
    if allowed:
        check_transition(current, target)
        return
    with pytest.raises(InvalidTransition) as exc:
        check_transition(current, target)
    assert exc.value.status == 409
    ((problem,),) = (exc.value.problems,)
    assert problem.code == "invalid_transition"
    assert current.value in problem.detail and target.value in problem.detail


def test_delivered_and_cancelled_are_final():
    for final in (Status.DELIVERED, Status.CANCELLED):
        assert not any(can_transition(final, target) for target in Status)
