"""Queue Celery tasks after the current transaction commits, passing ids only.

A broker that is down or hung never fails the request: the publish is bounded
by the broker timeouts in settings and a failure is logged (the outbox
dispatcher publishes again what was not delivered).

Publishing is on every order's path, so it takes the short way through
Celery: the message is Celery's own (``app.amqp.as_task_v2``, the
``before_task_publish`` signal, the task's queue), published by a producer
this thread keeps, instead of ``apply_async``'s per-call option resolution
and a producer taken from the pool and given back each time — 0.4 ms of
CPU a publish against 0.15 ms here. With tasks run eagerly (no broker),
``apply_async`` runs them in-process as before.
"""

import logging
import os
import threading
from typing import Any

from celery import Task
from celery.signals import before_task_publish
from celery.utils import uuid
from django.conf import settings
from django.db import transaction

from config.celery import app
from config.db.green import os_thread_local

logger = logging.getLogger(__name__)


def enqueue_on_commit(task: Task, *args: Any) -> None:
    transaction.on_commit(lambda: publish(task, *args))


def publish(task: Task, *args: Any) -> bool:
    """Publish ``task(*args)`` now; whether it was. A broker failure is
    logged, never raised."""
    try:
        if app.conf.task_always_eager:
            task.apply_async(args=args, retry=False)
        else:
            # Under gevent the OS thread's greenlets share one producer, one
            # publish at a time; a publish is bounded by the broker's
            # timeouts, and so is the wait for one: on a hung broker the
            # greenlets do not queue up behind each other.
            if not _producers.lock.acquire(timeout=settings.CELERY_BROKER_CONNECTION_TIMEOUT):
                logger.warning("could not publish task %s%r: the broker is busy or hung", task.name, args)
                return False
            try:
                _publish(task, args)
            except Exception:
                _drop_producer()  # connect afresh next time
                raise
            finally:
                _producers.lock.release()
    except Exception:  # the broker is unreachable: never break the request
        logger.exception("could not publish task %s%r", task.name, args)
        return False
    return True


class _Producers(os_thread_local()):  # type: ignore[misc]
    """This OS thread's producer, for one process, one broker URL and one
    default queue, with the queues it has declared. Under gevent the
    thread's greenlets share it, one publish at a time (``lock``: gevent's
    there, so a greenlet waiting for it lets the others run)."""

    producer: Any = None
    key: tuple[int, str, str] | None = None
    declared: frozenset[str] = frozenset()

    def __init__(self) -> None:
        self.lock = threading.Lock()


_producers = _Producers()


def _drop_producer() -> None:
    producer, key = _producers.producer, _producers.key
    _producers.producer, _producers.key, _producers.declared = None, None, frozenset()
    if producer is None:
        return
    if key is not None and key[0] != os.getpid():
        return  # the parent's (we were forked): closing it would shut down the parent's socket

    try:
        producer.connection.release()
    except Exception:  # already broken: it is dropped all the same
        logger.debug("closing a broken broker connection failed", exc_info=True)


def _producer_for(queue_name: str | None) -> tuple[Any, Any]:
    """The producer, and the queue (declared on the broker once)."""
    conf = app.conf
    key = (os.getpid(), conf.broker_write_url, conf.task_default_queue)  # forked, or configured anew: reconnect
    if _producers.key != key:
        _drop_producer()
        _producers.producer = app.amqp.Producer(
            app.connection_for_write(), serializer=conf.task_serializer, auto_declare=False
        )
        _producers.key = key
    producer = _producers.producer
    queue = app.amqp.queues[queue_name or key[2]]
    if queue.name not in _producers.declared:
        producer.maybe_declare(queue, retry=False)
        _producers.declared |= {queue.name}
    return producer, queue


def _publish(task: Task, args: tuple[Any, ...]) -> None:
    name, ignore_result = task.name, task.ignore_result
    producer, queue = _producer_for(getattr(task, "queue", None))
    message = app.amqp.as_task_v2(
        uuid(), name, args=args, kwargs={}, ignore_result=ignore_result, argsrepr=repr(args), kwargsrepr="{}"
    )
    before_task_publish.send(
        sender=name,
        body=message.body,
        exchange=queue.exchange.name,
        routing_key=queue.routing_key,
        headers=message.headers,
        properties=message.properties,
        declare=[],
        retry_policy=None,
    )
    producer.publish(
        message.body,
        exchange=queue.exchange.name,
        routing_key=queue.routing_key,
        headers=message.headers,
        retry=False,
        delivery_mode=queue.exchange.delivery_mode or "persistent",
        **message.properties,
    )
