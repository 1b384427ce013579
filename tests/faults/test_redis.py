"""Redis down (connections refused and cut), back, then hung (accepted,
never answered), back, under load: the cache and the rate limiter fail
open, so every request is still answered, quickly and never with a 5xx,
and nothing is lost."""

import time

import pytest

from tests.faults.stack import (
    Load,
    assert_all_succeeded,
    assert_confirmed_once,
    assert_every_order_was_told,
    assert_every_worker_answers,
    assert_ledger_balances,
    break_for,
    needs_services,
    tally,
)

pytestmark = [needs_services, pytest.mark.django_db(transaction=True)]

OUTAGE = 6.0
# Each Redis call is bounded by REDIS_SOCKET_TIMEOUT (0.5 s) and the cache
# is skipped for 5 s after a failure: a request meets a few timeouts at most.
ANSWER_WITHIN = 3.0


def test_redis_down_then_hung_under_load(stack, shop):
    windows = {}
    with Load(stack.base, shop) as load:
        time.sleep(2)
        for mode in ("down", "hung"):
            broke_at = break_for(stack, stack.redis, mode, OUTAGE, check="cache")
            stack.redis.forward()
            windows[mode] = (broke_at, time.monotonic())
            time.sleep(3)
    outcomes = load.outcomes

    # Failing open: everything succeeds, during each outage too, and quickly.
    assert_all_succeeded(outcomes, stack, what="while Redis was down, hung or back")
    for mode, (broke_at, back_at) in windows.items():
        during = load.between(broke_at, back_at)
        print(f"Redis {mode} {OUTAGE}s: {tally(during)}, slowest {max(o.seconds for o in during):.1f}s")
        assert [o for o in during if o.kind == "order"], f"no order was placed while Redis was {mode}"
        slow = [o for o in during if o.seconds > ANSWER_WITHIN]
        assert not slow, f"requests waited on Redis {mode}: {slow[:5]}"

    answered = assert_every_worker_answers(stack, shop)
    order_ids = assert_every_order_was_told(outcomes + answered, unknown_allowed=set())
    assert_confirmed_once(stack, order_ids)
    assert_ledger_balances(shop)
