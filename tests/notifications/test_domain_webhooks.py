from datetime import UTC, datetime, timedelta

from notifications.domain.webhooks import Outcome, failing_too_long, judge_attempt

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
DAYS_3 = timedelta(hours=72)


def test_a_2xx_succeeds_whatever_the_age():
    verdict = judge_attempt(ok=True, created_at=T0, now=T0 + timedelta(days=10), retry_for=DAYS_3, delay_seconds=9)
    assert (verdict.outcome, verdict.next_attempt_at) == (Outcome.SUCCEEDED, None)


def test_a_failure_is_retried_after_the_delay_while_younger_than_the_retry_window():
    now = T0 + DAYS_3 - timedelta(seconds=1)
    verdict = judge_attempt(ok=False, created_at=T0, now=now, retry_for=DAYS_3, delay_seconds=42.5)
    assert verdict.outcome is Outcome.RETRY
    assert verdict.next_attempt_at == now + timedelta(seconds=42.5)


def test_the_first_failure_after_the_retry_window_fails_it_for_good():
    verdict = judge_attempt(ok=False, created_at=T0, now=T0 + DAYS_3, retry_for=DAYS_3, delay_seconds=1)
    assert (verdict.outcome, verdict.next_attempt_at) == (Outcome.FAILED, None)


def test_an_endpoint_is_failing_too_long_only_once_the_limit_has_passed():
    assert not failing_too_long(None, T0, DAYS_3)
    assert not failing_too_long(T0, T0 + DAYS_3 - timedelta(seconds=1), DAYS_3)
    assert failing_too_long(T0, T0 + DAYS_3, DAYS_3)
