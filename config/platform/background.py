"""Queue Celery tasks after the current transaction commits, passing ids only.

A broker that is down or hung never fails the request: the publish is bounded
by the broker timeouts in settings and a failure is logged (the outbox
dispatcher publishes again what was not delivered).

Tasks go through Celery's public ``apply_async``, so its signals, routing
and tracing integrations see every message. What is ours is the producer:
each OS thread keeps one (``apply_async(producer=…)``) instead of taking one
from the pool and giving it back on every publish, and a publish waits for
the thread's producer no longer than the broker's connection timeout, so
greenlets do not queue up behind a hung broker.
"""

import logging
import os
import threading
from typing import Any

from celery import Task
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
    default queue. Under gevent the
    thread's greenlets share it, one publish at a time (``lock``: gevent's
    there, so a greenlet waiting for it lets the others run)."""

    producer: Any = None
    key: tuple[int, str, str] | None = None

    def __init__(self) -> None:
        self.lock = threading.Lock()


_producers = _Producers()


def _drop_producer() -> None:
    producer, key = _producers.producer, _producers.key
    _producers.producer, _producers.key = None, None
    if producer is None:
        return
    if key is not None and key[0] != os.getpid():
        return  # the parent's (we were forked): closing it would shut down the parent's socket

    try:
        producer.connection.release()
    except Exception:  # already broken: it is dropped all the same
        logger.debug("closing a broken broker connection failed", exc_info=True)


def _producer() -> Any:
    """This thread's producer, made afresh after a fork or a new broker URL."""
    key = (os.getpid(), app.conf.broker_write_url, app.conf.task_default_queue)
    if _producers.key != key:
        _drop_producer()
        _producers.producer = app.amqp.Producer(app.connection_for_write(), serializer=app.conf.task_serializer)
        _producers.key = key
    return _producers.producer


def _publish(task: Task, args: tuple[Any, ...]) -> None:
    task.apply_async(args=args, producer=_producer(), retry=False)
