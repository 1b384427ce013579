"""A gunicorn worker killed (SIGKILL) in the middle of a request, under
load: the master starts another, nobody gets a 5xx, the only requests
without an answer are the ones the dead worker was serving, and nothing is
lost — the client sends those again with their Idempotency-Key and learns
of every order."""

import os
import signal
import time

import pytest

from tests.faults.stack import (
    Load,
    Stack,
    assert_all_succeeded,
    assert_confirmed_once,
    assert_every_order_was_told,
    assert_every_worker_answers,
    assert_ledger_balances,
    needs_services,
    resend_failed_orders,
    tally,
)
from tests.support.services import wait_for

pytestmark = [needs_services, pytest.mark.django_db(transaction=True)]


def kill_a_worker_mid_request(stack: Stack) -> tuple[int, float]:
    """SIGKILL the first worker seen serving a request; (its pid, when)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for pid in stack.worker_pids():
            if stack.serving(pid):
                os.kill(pid, signal.SIGKILL)
                return pid, time.monotonic()
    pytest.fail("no worker was seen serving a request")


def test_a_worker_killed_mid_request_loses_nothing_and_is_replaced(stack, shop) -> None:
    kills: list[tuple[int, float]] = []
    with Load(stack.base, shop, clients=6, pause=0) as load:
        time.sleep(3)
        # The request seen in flight may finish just before the signal lands:
        # kill again (at most 3 times) until one was cut.
        while len(kills) < 3 and not [o for o in load.outcomes if not o.answered]:
            victim, killed_at = kill_a_worker_mid_request(stack)
            kills.append((victim, killed_at))

            def replaced_by_now(v: int = victim) -> bool:
                return len(pids := stack.worker_pids()) == 2 and v not in pids

            replaced = wait_for(replaced_by_now, timeout=20)
            assert replaced, f"worker {victim} was not replaced\n{stack.log_tails()}"
            time.sleep(1)
        back_at = time.monotonic()
        time.sleep(3)
    outcomes = load.outcomes
    cut = [o for o in outcomes if not o.answered]
    print(f"killed workers {[pid for pid, _ in kills]}: {tally(outcomes)}")

    # Nobody was answered with a 5xx, even while a worker died.
    assert not [o for o in outcomes if o.answered and o.status >= 500], tally(outcomes)  # type: ignore[operator]
    # The requests without an answer are the ones a killed worker was serving.
    assert cut, "no request was in flight on a killed worker"
    assert all(any(o.started <= at <= o.ended for _, at in kills) for o in cut), cut
    assert_all_succeeded(load.between(back_at), stack, what="after the new worker started")

    # Before the client knows more, the only orders it was not told of are the cut ones'...
    assert_every_order_was_told(outcomes, unknown_allowed={o.key for o in cut if o.kind == "order"})
    # ... and once it has sent those again with their keys, it knows of every order.
    resent = resend_failed_orders(stack.base, outcomes)
    answered = assert_every_worker_answers(stack, shop)
    order_ids = assert_every_order_was_told(outcomes + resent + answered, unknown_allowed=set())
    assert_confirmed_once(stack, order_ids)
    assert_ledger_balances(shop)
