"""The rule of failed admin sign-ins: pure, no database."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from users.domain.signin import (
    ALLOWED,
    Scope,
    SigninLimits,
    Verdict,
    scopes_to_lock,
    verdict_after_failure,
    verdict_for_attempt,
    verdict_from_locks,
)

LIMITS = SigninLimits(per_account=5, per_ip=20, lockout_seconds=900)


def test_no_lock_allows():
    assert verdict_from_locks(account_until=None, ip_until=None, now=1000.0) == ALLOWED


def test_a_lock_that_has_ended_allows():
    assert verdict_from_locks(account_until=999.0, ip_until=1000.0, now=1000.0).allowed


def test_a_standing_account_lock_refuses_with_the_time_left():
    verdict = verdict_from_locks(account_until=1000.0 + 600, ip_until=None, now=1000.0)
    assert verdict == Verdict(allowed=False, scope=Scope.ACCOUNT, seconds_left=600)
    assert verdict.minutes_left == 10


def test_with_both_locks_the_one_that_ends_last_is_the_wait():
    verdict = verdict_from_locks(account_until=1300.0, ip_until=1900.0, now=1000.0)
    assert (verdict.scope, verdict.seconds_left) == (Scope.IP, 900)
    verdict = verdict_from_locks(account_until=1950.0, ip_until=1900.0, now=1000.0)
    assert (verdict.scope, verdict.seconds_left) == (Scope.ACCOUNT, 950)


@pytest.mark.parametrize(("seconds", "minutes"), [(900, 15), (899.5, 15), (61, 2), (60, 1), (1, 1), (0.2, 1)])
def test_minutes_left_round_up_and_never_say_zero(seconds, minutes):
    assert Verdict(allowed=False, scope=Scope.IP, seconds_left=seconds).minutes_left == minutes


def test_attempts_up_to_each_limit_may_check_their_password():
    assert verdict_for_attempt(account_attempts=5, ip_attempts=20, limits=LIMITS) == ALLOWED


def test_an_attempt_beyond_the_account_limit_is_refused_for_the_full_lockout():
    verdict = verdict_for_attempt(account_attempts=6, ip_attempts=6, limits=LIMITS)
    assert verdict == Verdict(allowed=False, scope=Scope.ACCOUNT, seconds_left=900)


def test_an_attempt_beyond_the_ip_limit_is_refused_whatever_the_account():
    verdict = verdict_for_attempt(account_attempts=1, ip_attempts=21, limits=LIMITS)
    assert verdict == Verdict(allowed=False, scope=Scope.IP, seconds_left=900)


def test_the_failure_that_reaches_a_limit_locks_its_scope_only():
    assert scopes_to_lock(account_attempts=4, ip_attempts=19, limits=LIMITS) == ()
    assert scopes_to_lock(account_attempts=5, ip_attempts=19, limits=LIMITS) == (Scope.ACCOUNT,)
    assert scopes_to_lock(account_attempts=1, ip_attempts=20, limits=LIMITS) == (Scope.IP,)
    assert scopes_to_lock(account_attempts=5, ip_attempts=20, limits=LIMITS) == (Scope.ACCOUNT, Scope.IP)


def test_the_verdict_after_a_failure_names_the_wider_lock():
    assert verdict_after_failure(account_attempts=4, ip_attempts=4, limits=LIMITS) == ALLOWED
    assert verdict_after_failure(account_attempts=5, ip_attempts=5, limits=LIMITS).scope is Scope.ACCOUNT
    assert verdict_after_failure(account_attempts=5, ip_attempts=20, limits=LIMITS).scope is Scope.IP


@pytest.mark.parametrize(
    "fields",
    [
        {"per_account": 0, "per_ip": 20, "lockout_seconds": 900},
        {"per_account": 5, "per_ip": 0, "lockout_seconds": 900},
        {"per_account": 5, "per_ip": 20, "lockout_seconds": 0},
    ],
)
def test_limits_must_be_positive(fields):
    with pytest.raises(ValueError):
        SigninLimits(**fields)


@given(per_account=st.integers(1, 50), per_ip=st.integers(1, 200), failures=st.integers(1, 300))
def test_a_run_of_failures_is_never_checked_more_often_than_the_tighter_limit(per_account, per_ip, failures):
    """Attempts numbered 1, 2, … from one address for one account: the
    passwords checked before the first refusal are exactly the tighter limit,
    and the failure that reaches it is the one that locks."""
    limits = SigninLimits(per_account=per_account, per_ip=per_ip, lockout_seconds=900)
    checked = 0
    for n in range(1, failures + 1):
        if not verdict_for_attempt(account_attempts=n, ip_attempts=n, limits=limits).allowed:
            break
        checked += 1
        if scopes_to_lock(account_attempts=n, ip_attempts=n, limits=limits):
            assert n == min(per_account, per_ip)
            break
    assert checked == min(failures, per_account, per_ip)
