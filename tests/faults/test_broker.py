"""The broker down (connections refused and cut, and what was queued lost,
as a broker restarted without its messages), back, then hung (accepted,
never answered), back, under load: orders are placed all the same, quickly
and never with a 5xx (publishing is bounded, and its failure only logged);
their emails wait in the outbox and each goes out once the broker is back,
though no order comes after to carry them out."""

import time

import pytest

from tests.faults.stack import (
    Load,
    assert_all_succeeded,
    assert_confirmed,
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
# A publish is bounded by CELERY_BROKER_CONNECTION_TIMEOUT (1 s), and so is
# the wait for the thread's producer behind a publish that hangs.
ANSWER_WITHIN = 3.0


def forget_queued(queue: str) -> None:
    """Empty the test's queue on the real broker (the worker's unacknowledged
    messages came back to it when its connection was cut): no task published
    before the outage survives it."""
    from kombu import Queue

    from config.celery import app

    with app.connection_for_write() as connection:
        Queue(queue, channel=connection.default_channel).purge()


def test_broker_down_then_hung_under_load(stack, shop, queue):
    outcomes = []
    for mode in ("down", "hung"):
        with Load(stack.base, shop, clients=3, pause=0.2) as load:
            time.sleep(2)
            broke_at = break_for(stack, stack.broker, mode, OUTAGE, check="broker")
            if mode == "down":
                forget_queued(queue)
        # The load has stopped before the broker is back: the first order
        # after it would publish a drain that takes every waiting email too.
        # Only the outbox's own rounds may send them now.
        stack.broker.forward()
        during = load.between(broke_at)
        print(f"broker {mode} {OUTAGE}s: {tally(during)}, slowest {max(o.seconds for o in during):.1f}s")

        assert_all_succeeded(load.outcomes, stack, what=f"while the broker was {mode}")
        placed = {o.body["id"] for o in during if o.kind == "order"}
        assert placed, f"no order was placed while the broker was {mode}"
        slow = [o for o in during if o.seconds > ANSWER_WITHIN]
        assert not slow, f"requests waited on the broker {mode}: {slow[:5]}"
        assert_confirmed(stack, placed)
        outcomes += load.outcomes

    answered = assert_every_worker_answers(stack, shop)
    order_ids = assert_every_order_was_told(outcomes + answered, unknown_allowed=set())
    assert_confirmed_once(stack, order_ids)
    assert_ledger_balances(shop)
