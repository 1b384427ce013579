"""PostgreSQL "restarted" under load (its proxy cut: every connection ended,
new ones refused, then back): while it is down every request that needs it
fails fast with a 5xx in the envelope, never a hang; within seconds of its
return requests succeed again in every gunicorn worker, and nothing is lost."""

import time
import uuid

import pytest

from tests.faults.stack import (
    Load,
    Outcome,
    assert_all_succeeded,
    assert_confirmed_once,
    assert_every_order_was_told,
    assert_every_worker_answers,
    assert_ledger_balances,
    assert_server_errors_in_the_envelope,
    break_for,
    needs_services,
    place_order,
    resend_failed_orders,
    tally,
)
from tests.support.services import wait_for

pytestmark = [needs_services, pytest.mark.django_db(transaction=True)]

# Long enough that psycopg's pool, retrying with backoff (1, 2, 4, 8, 16 s…),
# would otherwise next try well after the database is back.
OUTAGE = 20.0
FAIL_FAST = 5.0  # the longest a request may take while it is down (the pool waits 3 s)
RECOVERY = 5.0  # the longest it may take, once it is back, until requests succeed again


def test_postgresql_restarted_under_load(stack, shop) -> None:
    with Load(stack.base, shop) as load:
        time.sleep(3)
        down_at = break_for(stack, stack.db, "down", OUTAGE, check="database")
        stack.db.forward()
        back_at = time.monotonic()
        probes: list[Outcome] = []

        def an_order_succeeds() -> bool:
            line = [{"product_id": next(iter(shop.stock)), "quantity": 1}]
            probes.append(place_order(stack.base, shop.tokens[-1], line, f"recovery-{uuid.uuid4().hex}"))
            return probes[-1].status == 201

        recovered = wait_for(an_order_succeeds, timeout=30, interval=0.2)
        recovered_in = time.monotonic() - back_at
        time.sleep(RECOVERY + 2)
    outcomes = load.outcomes + probes
    slowest = max((o.seconds for o in load.between(down_at, back_at)), default=0.0)
    print(
        f"down {OUTAGE}s: {tally(load.between(down_at, back_at))}, slowest {slowest:.1f}s; recovered in {recovered_in:.1f}s"
    )

    assert recovered and recovered_in <= RECOVERY, (
        f"requests failed for {recovered_in:.1f}s after the database was back"
    )
    during = load.between(down_at, back_at)
    assert [o for o in during if o.kind == "order" and o.failed], f"the outage was not felt: {tally(during)}"
    slow = [o for o in during if o.seconds > FAIL_FAST]
    assert not slow, f"requests hung while the database was down: {slow[:5]}"
    assert all(o.answered for o in outcomes), [o for o in outcomes if not o.answered][:5]  # gunicorn always answers
    assert_server_errors_in_the_envelope(outcomes)
    assert_all_succeeded(load.between(back_at + RECOVERY), stack, what="once the database was back")

    # A request that failed may still have committed (the connection cut mid-commit): the
    # client, sending it again with its key, is then told of it.
    assert_every_order_was_told(outcomes, unknown_allowed={o.key for o in outcomes if o.kind == "order" and o.failed})
    resent = resend_failed_orders(stack.base, outcomes)
    answered = assert_every_worker_answers(stack, shop)
    order_ids = assert_every_order_was_told(outcomes + resent + answered, unknown_allowed=set())
    # The worker's own connection was cut too: an email sent just before the cut
    # may not have been recorded as sent, and goes again.
    assert_confirmed_once(stack, order_ids, twins_allowed=lambda i: down_at - 2 <= stack.first_arrival(i) <= back_at)
    assert_ledger_balances(shop)
