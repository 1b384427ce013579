"""config.platform.background publishes through Celery's apply_async on the real broker
(its signals see every message), keeps its producer between publishes, and gets a new one after a failure,
for another broker, or in a forked child. Needs CELERY_BROKER_URL; skipped
with a reason otherwise (CI sets it)."""

import os
import time

import pytest
import structlog
from celery.signals import after_task_publish
from kombu import Queue

from config.celery import app
from config.platform import background
from notifications.tasks import outbox_deliver_task
from tests.support.services import free_port, publishing_to

BROKER = os.environ.get("CELERY_BROKER_URL", "")
pytestmark = pytest.mark.skipif(not BROKER, reason="needs CELERY_BROKER_URL (a real broker)")


def received(name: str, timeout: float = 5) -> list[tuple[dict, list]]:
    """The task messages waiting in queue ``name``: (headers, args) each."""
    out: list[tuple[dict, list]] = []
    deadline = time.monotonic() + timeout
    with app.connection_for_read() as connection:
        bound = Queue(name, channel=connection.default_channel)
        while time.monotonic() < deadline:
            message = bound.get(no_ack=True)
            if message is None:
                if out:
                    break
                time.sleep(0.05)
                continue
            args, _kwargs, _ = message.decode()
            out.append((message.headers, args))
    return out


def test_the_message_is_celerys_own_its_signals_see_it_and_it_carries_the_request_id(queue):
    seen: list[str] = []

    def on_published(sender: str, **_: object) -> None:
        seen.append(sender)

    after_task_publish.connect(on_published, weak=False)
    structlog.contextvars.bind_contextvars(request_id="req-background-1")
    try:
        background.publish(outbox_deliver_task, 41)
        background.publish(outbox_deliver_task, 42)
    finally:
        structlog.contextvars.clear_contextvars()
        after_task_publish.disconnect(on_published)
    assert seen == ["notifications.tasks.outbox_deliver_task"] * 2
    messages = received(queue)
    assert [args for _, args in messages] == [[41], [42]]
    for headers, _ in messages:
        assert headers["task"] == "notifications.tasks.outbox_deliver_task"
        assert headers["request_id"] == "req-background-1"
        assert headers["id"] and headers["root_id"] == headers["id"]
        assert headers["ignore_result"] is True
    assert messages[0][0]["id"] != messages[1][0]["id"]


def test_one_producer_is_kept_between_publishes(queue):
    background.publish(outbox_deliver_task, 1)
    kept = background._producers.producer
    background.publish(outbox_deliver_task, 2)
    assert background._producers.producer is kept
    assert len(received(queue)) == 2


def test_after_a_dead_broker_the_next_publish_reaches_the_working_one(queue):
    background.publish(outbox_deliver_task, 1)
    with publishing_to(f"amqp://guest:guest@127.0.0.1:{free_port()}//"):
        started = time.monotonic()
        background.publish(outbox_deliver_task, 2)  # refused: logged, not raised
        assert time.monotonic() - started < 5
        assert background._producers.producer is None  # dropped: the next publish connects afresh
    background.publish(outbox_deliver_task, 3)
    assert [args for _, args in received(queue)] == [[1], [3]]


def test_a_forked_child_publishes_on_a_connection_of_its_own(queue):
    background.publish(outbox_deliver_task, 1)
    parent_producer = background._producers.producer
    pid = os.fork()
    if pid == 0:  # the child: publish, and report through the exit code
        try:
            background.publish(outbox_deliver_task, 2)
            ok = background._producers.producer is not parent_producer and background._producers.key[0] == os.getpid()
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    background.publish(outbox_deliver_task, 3)  # the parent's connection still works
    assert sorted(args[0] for _, args in received(queue)) == [1, 2, 3]


def test_a_publish_waits_for_the_one_in_progress_no_longer_than_the_broker_timeout(queue, settings):
    """Under gevent a thread's greenlets take turns on its producer; one that
    finds the turn taken for longer than the broker's timeout (a hung
    broker) gives up, logged, instead of queueing behind it."""
    settings.CELERY_BROKER_CONNECTION_TIMEOUT = 0.3
    background._producers.lock.acquire()  # a publish in progress on this thread's producer
    try:
        started = time.monotonic()
        published = background.publish(outbox_deliver_task, 1)
        waited = time.monotonic() - started
    finally:
        background._producers.lock.release()
    assert published is False
    assert 0.25 <= waited < 1.5
    assert background.publish(outbox_deliver_task, 2) is True  # the turn is free again
    assert [args for _, args in received(queue)] == [[2]]
