"""The limiter's arithmetic (GCRA) against a fake clock, and the local store.

No database here: pytest-django refuses a query, which proves the rule is pure.
Times given to :func:`gcra` are whole microseconds; ``T0`` is an epoch-sized
instant on purpose (in floats, there, the last request of a burst was lost).
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.platform.ratelimit import MICROS, LocalStore, Rate, gcra, parse_rate
from tests.support.threads import run_together

T0 = 1_700_000_000 * MICROS + 123_456
SECOND = MICROS
FIVE_PER_MINUTE = Rate(5, 60.0)  # a burst of 5, then one every 12 s


def run(rate: Rate, arrivals: list[int]) -> list[bool]:
    """Feed arrivals (µs, in order) through gcra as a store would."""
    tat: int | None = None
    allowed = []
    for now in arrivals:
        decision = gcra(tat, now, rate)
        if decision.allowed:
            tat = decision.tat
        allowed.append(decision.allowed)
    return allowed


# --- parse_rate -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "period"),
    [
        ("20/min", 20, 60.0),
        ("5/s", 5, 1.0),
        ("1/second", 1, 1.0),
        ("3000/MIN", 3000, 60.0),
        (" 7 / h ", 7, 3600.0),
        ("100/hour", 100, 3600.0),
        ("2/day", 2, 86400.0),
        ("2/d", 2, 86400.0),
        ("5/10s", 5, 10.0),
        ("60/15min", 60, 900.0),
    ],
)
def test_parse_rate_reads_a_limit_and_a_period(text, limit, period):
    assert parse_rate(text) == Rate(limit, period)


@pytest.mark.parametrize(
    "text",
    ["", "20", "/min", "20/", "0/min", "-1/min", "1.5/min", "20/fortnight", "20 per min", "abc/min", "20/0min",
     "2000000/s", "20/min/s"],
)  # fmt: skip
def test_parse_rate_refuses_anything_else(text):
    with pytest.raises(ValueError, match="not a rate"):
        parse_rate(text)


# --- gcra against a fake clock ---------------------------------------------------------


def test_gcra_allows_a_burst_of_limit_then_refuses():
    tat = None
    decisions = []
    for _ in range(6):
        decision = gcra(tat, T0, FIVE_PER_MINUTE)
        if decision.allowed:
            tat = decision.tat
        decisions.append(decision)

    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0, 0]
    assert all(d.limit == 5 for d in decisions)


def test_gcra_reset_and_retry_after_are_exact():
    tat = None
    for n in range(1, 6):
        decision = gcra(tat, T0, FIVE_PER_MINUTE)
        tat = decision.tat
        assert decision.reset_after == 12.0 * n  # each request takes one interval of the budget
        assert decision.retry_after == 0.0

    refused = gcra(tat, T0, FIVE_PER_MINUTE)
    assert not refused.allowed
    assert refused.retry_after == 12.0  # one interval frees one request
    assert refused.reset_after == 60.0  # the whole budget is back one period later

    later = gcra(tat, T0 + 5 * SECOND + 250_000, FIVE_PER_MINUTE)
    assert not later.allowed
    assert later.retry_after == 6.75
    assert later.reset_after == 54.75


def test_gcra_gives_back_one_request_per_interval():
    tat = None
    for _ in range(5):
        tat = gcra(tat, T0, FIVE_PER_MINUTE).tat

    assert not gcra(tat, T0 + 12 * SECOND - 1, FIVE_PER_MINUTE).allowed
    for k in range(1, 4):
        now = T0 + 12 * SECOND * k
        decision = gcra(tat, now, FIVE_PER_MINUTE)
        assert decision.allowed, k
        assert decision.remaining == 0
        assert decision.reset_after == 60.0
        tat = decision.tat
        assert not gcra(tat, now, FIVE_PER_MINUTE).allowed  # exactly one, not two


def test_gcra_gives_back_the_whole_burst_after_a_quiet_period():
    tat = None
    for _ in range(5):
        tat = gcra(tat, T0, FIVE_PER_MINUTE).tat

    later = T0 + 60 * SECOND
    decisions = []
    for _ in range(6):
        decision = gcra(tat, later, FIVE_PER_MINUTE)
        if decision.allowed:
            tat = decision.tat
        decisions.append(decision)
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert decisions[0].remaining == 4


def test_a_refused_request_does_not_change_the_state():
    tat = None
    for _ in range(5):
        tat = gcra(tat, T0, FIVE_PER_MINUTE).tat

    for offset in (0, 1, 3 * SECOND, 12 * SECOND - 1):
        refused = gcra(tat, T0 + offset, FIVE_PER_MINUTE)
        assert not refused.allowed
        assert refused.tat == tat
    # Hammering while refused does not push the next allowed request further away.
    assert gcra(tat, T0 + 12 * SECOND, FIVE_PER_MINUTE).allowed


@pytest.mark.parametrize("rate", [Rate(7, 60.0), Rate(3, 1.0), Rate(20, 60.0), Rate(3000, 60.0), Rate(100, 86400.0)])
def test_gcra_allows_the_full_burst_when_the_interval_is_not_a_round_number(rate):
    """With float seconds at an epoch-sized clock, rounding refused the last
    request of the burst and miscounted ``remaining``."""
    tat = None
    remaining = []
    for _ in range(rate.limit):
        decision = gcra(tat, T0, rate)
        assert decision.allowed
        remaining.append(decision.remaining)
        tat = decision.tat
    assert remaining == list(range(rate.limit - 1, -1, -1))
    assert not gcra(tat, T0, rate).allowed


def test_gcra_is_not_a_fixed_window_a_steady_client_gets_up_to_twice_the_limit_minus_one_per_period():
    """What the limit means under GCRA (and what the README must say): a burst
    of ``limit`` and then one request per interval. A strict "at most limit in
    any period" would refuse the burst; GCRA lets 2 × limit − 1 into one period."""
    arrivals = [T0] * 5 + [T0 + 12 * SECOND * k for k in range(1, 5)]
    assert run(FIVE_PER_MINUTE, arrivals) == [True] * 9
    assert arrivals[-1] - arrivals[0] < 60 * SECOND


# --- Hypothesis: the bound, over any arrivals ------------------------------------------

rates = st.builds(
    lambda limit, interval: Rate(limit, limit * interval / MICROS),
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=1, max_value=5 * SECOND),
)


@st.composite
def rate_and_arrivals(draw: st.DrawFn) -> tuple[Rate, list[int]]:
    rate = draw(rates)
    span = 4 * rate.period_us
    start = draw(st.integers(min_value=0, max_value=2 * T0))
    offsets = draw(st.lists(st.integers(min_value=0, max_value=span), max_size=80))
    # Bursts: several requests at one instant are common in real traffic.
    repeats = draw(st.lists(st.integers(min_value=1, max_value=4), min_size=len(offsets), max_size=len(offsets)))
    return rate, [start + o for o, r in zip(sorted(offsets), repeats, strict=True) for _ in range(r)]


@settings(max_examples=300, deadline=None)
@given(rate_and_arrivals())
def test_gcra_never_allows_more_than_the_burst_plus_one_per_interval_in_any_window(case):
    """In any window from one allowed request to a later one, the requests
    allowed number at most ``limit + elapsed // interval``; so never more than
    ``limit`` within one interval, nor ``2 × limit − 1`` within one period."""
    rate, arrivals = case
    allowed = [t for t, ok in zip(arrivals, run(rate, arrivals), strict=True) if ok]
    for i, first in enumerate(allowed):
        for j in range(i, len(allowed)):
            elapsed = allowed[j] - first
            assert j - i + 1 <= rate.limit + elapsed // rate.interval_us, (i, j, elapsed)
    for i, first in enumerate(allowed):
        within_period = sum(1 for t in allowed[i:] if t - first < rate.period_us)
        assert within_period <= 2 * rate.limit - 1


@settings(max_examples=300, deadline=None)
@given(rate_and_arrivals())
def test_gcra_refuses_a_request_only_when_allowing_it_would_break_the_bound(case) -> None:
    """The other half: GCRA is not stingier than its bound. A request is
    refused exactly when some window ending with it would hold more than
    ``limit + elapsed / interval`` allowed requests."""
    rate, arrivals = case
    allowed: list[int] = []
    for now, ok in zip(arrivals, run(rate, arrivals), strict=True):
        would_break = any(
            (len(allowed) - i + 1 - rate.limit) * rate.interval_us > now - first for i, first in enumerate(allowed)
        )
        assert ok == (not would_break), (now, allowed)
        if ok:
            allowed.append(now)


@settings(max_examples=200, deadline=None)
@given(rates, st.integers(min_value=0, max_value=10 * 60 * SECOND), st.data())
def test_gcra_refusal_leaves_state_alone_and_names_when_to_retry(rate, elapsed, data):
    now = T0 + elapsed
    tat = now + data.draw(st.integers(min_value=-10 * 60 * SECOND, max_value=2 * rate.period_us))
    decision = gcra(tat, now, rate)
    if decision.allowed:
        assert decision.tat == max(tat, now) + rate.interval_us
        assert decision.retry_after == 0.0
    else:
        assert decision.tat == tat
        assert decision.remaining == 0
        retry_at = now + round(decision.retry_after * MICROS)
        assert not gcra(tat, retry_at - 1, rate).allowed
        assert gcra(tat, retry_at, rate).allowed


# --- LocalStore ------------------------------------------------------------------------


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.5) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def test_local_store_limits_each_key_on_its_own_clock():
    clock = FakeClock()
    store = LocalStore(clock=clock)

    assert [store.check("a", FIVE_PER_MINUTE).allowed for _ in range(6)] == [True] * 5 + [False]
    assert store.check("b", FIVE_PER_MINUTE).allowed  # another key, another budget

    clock.now += 11.9
    refused = store.check("a", FIVE_PER_MINUTE)
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(0.1)
    clock.now += 0.1
    assert store.check("a", FIVE_PER_MINUTE).allowed
    assert not store.check("a", FIVE_PER_MINUTE).allowed

    clock.now += 60
    assert [store.check("a", FIVE_PER_MINUTE).allowed for _ in range(6)] == [True] * 5 + [False]


def test_local_store_clear_forgets_every_key():
    store = LocalStore(clock=FakeClock())
    for _ in range(5):
        store.check("a", FIVE_PER_MINUTE)
    assert not store.check("a", FIVE_PER_MINUTE).allowed
    store.clear()
    assert store.check("a", FIVE_PER_MINUTE).remaining == 4


def test_local_store_under_50_threads_allows_exactly_the_limit():
    store = LocalStore()
    rate = Rate(10, 3600.0)  # nothing comes back during the test
    results = run_together(lambda: store.check("login:203.0.113.9", rate).allowed, 50, timeout=30)

    assert len(results) == 50
    assert results.count(True) == 10
