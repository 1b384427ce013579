"""The retry delay of the email outbox: pure, no database."""

from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifications.domain.backoff import retry_delay


class Fixed(Random):
    def __init__(self, fraction: float) -> None:
        super().__init__()
        self.fraction = fraction

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.fraction


@pytest.mark.parametrize(
    ("attempt", "expected_max"),
    [(1, 5.0), (2, 10.0), (3, 20.0), (4, 40.0), (7, 320.0), (8, 600.0), (20, 600.0)],
)
def test_retry_delay_doubles_up_to_the_cap(attempt, expected_max):
    assert retry_delay(attempt, base=5, cap=600, rng=Fixed(1.0)) == expected_max
    assert retry_delay(attempt, base=5, cap=600, rng=Fixed(0.0)) == 5.0


def test_retry_delay_refuses_attempt_zero():
    with pytest.raises(ValueError):
        retry_delay(0, base=5, cap=600, rng=Random(1))


@given(attempt=st.integers(1, 60), seed=st.integers())
def test_retry_delay_is_always_between_base_and_cap(attempt, seed):
    delay = retry_delay(attempt, base=5, cap=600, rng=Random(seed))
    assert 5 <= delay <= 600


def test_retry_delays_of_many_rows_are_spread_out():
    rng = Random(42)
    delays = {round(retry_delay(5, base=5, cap=600, rng=rng), 3) for _ in range(50)}
    assert len(delays) > 40
