"""Many emails, one message: with Redis and a real broker, the emails of a
burst of orders are announced by one drain message (notifications.services), the drain
delivers each of them once, and every failure falls back to what worked
before (one message per email, or the dispatcher). Needs REDIS_URL and
CELERY_BROKER_URL; the threads need PostgreSQL. Skipped with a reason
otherwise (CI sets them all)."""

import os
from collections import Counter

import pytest
from django.core import mail
from django.core.cache import cache

from config.platform import read_cache
from notifications.models import OutboxEmail
from notifications.services import DRAIN_FLAG, Delivery, outbox_deliver, outbox_drain, outbox_enqueue
from notifications.tasks import outbox_drain_task
from tests.config.test_background import received
from tests.conftest import requires_postgres
from tests.factories import make_product
from tests.support.recording import redis_round_trips
from tests.support.services import free_port, publishing_to
from tests.support.threads import run_together

pytestmark = [
    pytest.mark.skipif(
        not (os.environ.get("REDIS_URL") and os.environ.get("CELERY_BROKER_URL")),
        reason="needs REDIS_URL and CELERY_BROKER_URL (the flag lives in Redis, the message goes to the broker)",
    ),
    pytest.mark.django_db(transaction=True),
]

ORDERS = "/api/v1/orders/"
DRAIN = "notifications.tasks.outbox_drain_task"
DELIVER = "notifications.tasks.outbox_deliver_task"


def place_orders(client, n: int) -> None:
    product = make_product(stock=100)
    for _ in range(n):
        r = client.post(ORDERS, {"lines": [{"product_id": product.id, "quantity": 1}]}, format="json")
        assert r.status_code == 201, r.content


def tasks(queue: str) -> list[tuple[str, list]]:
    return [(headers["task"], args) for headers, args in received(queue)]


def test_a_burst_of_orders_is_one_message_and_the_drain_delivers_each_email_once(customer_api, queue):
    place_orders(customer_api, 5)

    assert tasks(queue) == [(DRAIN, [])]
    assert OutboxEmail.objects.filter(status="pending", attempts=0).count() == 5

    assert outbox_drain_task() == 5
    assert outbox_drain_task() == 0  # a drain run twice (redelivered) sends nothing again
    assert sorted(m.subject for m in mail.outbox) == sorted(e.subject for e in OutboxEmail.objects.all())
    assert len(mail.outbox) == 5
    assert set(OutboxEmail.objects.values_list("status", "attempts")) == {("sent", 1)}


def test_an_email_after_the_drain_started_queues_the_next_drain(customer_api, queue):
    place_orders(customer_api, 2)
    outbox_drain()  # started: the flag is cleared before it looks
    place_orders(customer_api, 2)

    assert tasks(queue) == [(DRAIN, []), (DRAIN, [])]
    outbox_drain()
    assert len(mail.outbox) == 4


def test_a_refused_publish_clears_the_flag_so_the_next_email_publishes_again(customer_api, queue):
    with publishing_to(f"amqp://guest:guest@127.0.0.1:{free_port()}//"):
        place_orders(customer_api, 1)  # the order stands; the drain could not be queued
    assert cache.get(DRAIN_FLAG) is None
    place_orders(customer_api, 1)

    assert tasks(queue) == [(DRAIN, [])]
    assert outbox_drain() == 2


def test_after_commit_the_cache_and_the_outbox_send_their_own_commands_in_one_round_trip(
    customer_api, queue, monkeypatch
):
    product = make_product(stock=100)
    trips = redis_round_trips(monkeypatch)
    r = customer_api.post(ORDERS, {"lines": [{"product_id": product.id, "quantity": 1}]}, format="json")
    assert r.status_code == 201, r.content

    flag = cache.make_key(DRAIN_FLAG)
    after_commit = trips[-1]  # the limits' call came before
    assert len([trip for trip in trips if any(flag in command for command in trip)]) == 1
    assert len(after_commit) == 2
    bump, flag_set = after_commit
    assert bump[0] == "EVAL" and any(read_cache._version_key("orders") in arg for arg in bump)
    assert flag not in bump  # the read cache's command knows nothing of the flag
    assert flag_set[:2] == ("SET", flag) and "NX" in flag_set
    assert cache.get(DRAIN_FLAG) is not None
    assert tasks(queue) == [(DRAIN, [])]


def test_an_email_rolled_back_leaves_no_flag_without_a_drain_behind(customer_api, queue):
    """An email enqueued in a transaction that rolled back raises no flag, at
    its end or at this thread's next commit, so the next email is not left
    waiting for a drain nobody queued."""
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        outbox_enqueue(kind="test", to="gone@example.com", subject="rolled back", text="t")
        raise RuntimeError("rolled back")
    with transaction.atomic():
        read_cache.changed("unrelated")  # any commit of this thread
    assert cache.get(DRAIN_FLAG) is None
    place_orders(customer_api, 1)

    assert tasks(queue) == [(DRAIN, [])]
    assert outbox_drain() == 1
    assert [m.subject for m in mail.outbox] == [OutboxEmail.objects.get().subject]


def test_with_redis_failing_each_email_is_published_by_itself(customer_api, queue, monkeypatch):
    """The round trip after commit fails (Redis is gone): the orders stand,
    the cache remembers its bumps, and each email is published by itself."""
    from redis.client import Pipeline

    def refuse(*args, **kwargs):
        raise ConnectionError("simulated: Redis is unreachable")

    monkeypatch.setattr(Pipeline, "execute", refuse)
    place_orders(customer_api, 2)
    assert read_cache._pending  # bumped once Redis answers again
    read_cache.reset()

    ids = sorted(OutboxEmail.objects.values_list("id", flat=True))
    assert sorted(tasks(queue)) == [(DELIVER, [ids[0], 0]), (DELIVER, [ids[1], 0])]


def test_after_an_answer_lost_the_next_email_takes_the_flag_and_queues_a_drain(customer_api, queue, monkeypatch):
    """Redis hung and came back: the flag's SET landed but its answer was
    lost, so the flag stands with no drain queued. That email is published
    by itself; the process's next email takes the flag whatever is there and
    queues the drain, so the emails after it are not left waiting."""
    from redis.client import Pipeline

    real = Pipeline.execute

    def answer_lost(self, *args, **kwargs):
        real(self, *args, **kwargs)
        raise TimeoutError("simulated: the answer never came")

    product = make_product(stock=100)

    def place() -> None:
        r = customer_api.post(ORDERS, {"lines": [{"product_id": product.id, "quantity": 1}]}, format="json")
        assert r.status_code == 201, r.content

    monkeypatch.setattr(Pipeline, "execute", answer_lost)
    place()
    monkeypatch.setattr(Pipeline, "execute", real)
    read_cache.reset()  # Redis is back
    assert cache.get(DRAIN_FLAG) is not None  # set, and no drain queued

    place()
    place()
    first = OutboxEmail.objects.order_by("id").first()
    assert tasks(queue) == [(DELIVER, [first.id, 0]), (DRAIN, [])]
    assert outbox_drain() == 3


def test_the_drain_leaves_tried_sent_and_failed_emails_alone(settings, queue):
    settings.EMAIL_BACKEND = "tests.support.mail.RefusingBackend"
    tried = outbox_enqueue(kind="test", to="a@example.com", subject="tried", text="t")
    assert outbox_deliver(email_id=tried.id) is Delivery.RETRY
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    sent = outbox_enqueue(kind="test", to="b@example.com", subject="sent", text="t")
    assert outbox_deliver(email_id=sent.id) is Delivery.SENT
    OutboxEmail.objects.filter(id=outbox_enqueue(kind="test", to="c@example.com", subject="x", text="t").id).update(
        status="failed"
    )
    fresh = outbox_enqueue(kind="test", to="d@example.com", subject="fresh", text="t")
    mail.outbox.clear()

    assert outbox_drain() == 1
    assert [m.subject for m in mail.outbox] == ["fresh"]
    assert OutboxEmail.objects.get(id=fresh.id).status == "sent"
    assert OutboxEmail.objects.get(id=tried.id).attempts == 1  # left to its retry time


def test_with_the_mail_server_down_a_drain_stops_after_three_failures_in_a_row(settings, queue):
    settings.EMAIL_BACKEND = "tests.support.mail.RefusingBackend"
    for n in range(6):
        outbox_enqueue(kind="test", to=f"{n}@example.com", subject="s", text="t")
    assert outbox_drain() == 3
    assert OutboxEmail.objects.filter(attempts=0).count() == 3  # for the dispatcher, when due


@requires_postgres
def test_drains_running_side_by_side_send_each_email_exactly_once(queue):
    for n in range(40):
        outbox_enqueue(kind="test", to=f"{n}@example.com", subject=f"email {n}", text="t")
    taken = run_together(outbox_drain, 4)

    assert sum(taken) == 40
    assert Counter(m.subject for m in mail.outbox) == {f"email {n}": 1 for n in range(40)}
    assert set(OutboxEmail.objects.values_list("status", "attempts")) == {("sent", 1)}
