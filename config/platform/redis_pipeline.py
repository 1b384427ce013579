"""Several subsystems' commands to Redis in one round trip, each its own.

On a machine of two vCPUs a round trip to Redis costs the worker the CPU it
hands to Redis and back, and two subsystems often ask Redis at the same
moment:

- **After a commit**: an order's commit is followed by the read cache's bump
  of the versions it changed and the outbox's drain flag. A service that
  wants them together opens :func:`gathered` around its transaction
  (``@gathered()`` above ``@transaction.atomic``); each subsystem calls
  :func:`after_commit`. Inside a gathered block they go in one pipeline
  when the block ends; outside one, each goes alone, at once after commit.
  Nothing of a transaction or savepoint that rolls back is sent.
- **Ahead of a request's first call**: a cached product page is the rate
  limiter's call and the read cache's lookup. The product views know the
  page before the limits are counted: the lookup :func:`ride`\\ s the
  limiter's round trip (:func:`send`). A rider nobody sends by the end of
  the request is dropped (:func:`take_riders`); its subsystem then asks Redis
  itself.

A subsystem hands over a ``prepare(pipeline)``: it puts its own commands on
the pipeline (no script serves two subsystems) and returns what to do with
their answers, or None if it put none there. Its ``done`` gets the answers
of its commands, in order (an answer may be the exception Redis gave that
command), or the exception that failed the whole round trip, and fails safe
its own way. One subsystem's bug stops no other. Used only with Redis.
"""

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import redis
from django.db import connection, transaction

logger = logging.getLogger(__name__)

Done = Callable[[Sequence[Any] | Exception], None]
Prepare = Callable[[Any], Done | None]  # given a redis-py pipeline


class _Ours(threading.local):
    """This thread's (under gevent, this greenlet's) open gathered block, with
    the prepares whose transaction committed, and its riders."""

    def __init__(self) -> None:
        self.committed: list[Prepare] | None = None
        self.riders: list[Prepare] = []


_ours = _Ours()


# --- After a commit ---------------------------------------------------------------


@contextmanager
def gathered() -> Iterator[None]:
    """Send the commands that follow the commit of the transaction inside the
    block in one round trip, when the block ends. Open it outside the
    transaction; inside a transaction or another gathered block it does
    nothing (the outer one sends)."""
    if _ours.committed is not None or connection.in_atomic_block:
        yield
        return
    committed = _ours.committed = []
    try:
        yield
    finally:
        _ours.committed = None
        if committed:  # what committed is sent even if something raised after the commit
            send(committed)


def after_commit(prepare: Prepare) -> None:
    """Once the caller's transaction commits: ``prepare``'s commands, with the
    others of a gathered block, or alone (at once outside a transaction)."""

    def committed() -> None:
        if _ours.committed is not None:
            _ours.committed.append(prepare)
        else:
            send([prepare])

    transaction.on_commit(committed)


# --- Ahead of a request's first call ------------------------------------------------


def ride(prepare: Prepare) -> None:
    """Put ``prepare``'s commands on this request's next round trip that
    carries riders (the rate limiter's)."""
    _ours.riders.append(prepare)


def take_riders() -> list[Prepare]:
    """The riders waiting, now no longer (the sender's, or the request's end)."""
    riders, _ours.riders = _ours.riders, []
    return riders


# --- The round trip ---------------------------------------------------------------


def only_answer(answers: Sequence[Any] | Exception) -> Any:
    """For a subsystem that queued one command: its answer (which may be the
    exception Redis gave it), or the exception that failed the round trip."""
    return answers if isinstance(answers, Exception) else answers[0]


def _client() -> Any:
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def send(prepares: Sequence[Prepare], client: Any = None) -> None:
    """Every prepare's commands in one pipeline (on ``client``, or the
    cache's Redis), then each done with its answers."""
    failure: Exception | None = None
    try:
        pipeline = (client or _client()).pipeline(transaction=False)
    except Exception as exc:  # no client (Redis misconfigured): each is told, as of a failed round trip
        failure, pipeline = exc, redis.Redis().pipeline(transaction=False)  # never sent: it holds the commands
    waiting: list[tuple[Done, int, int]] = []  # done, its first answer, how many
    for prepare in prepares:
        start = len(pipeline)
        try:
            done = prepare(pipeline)
        except Exception:
            logger.exception("a command to Redis could not be prepared")
            continue  # anything it queued is sent, and its answer goes to no one
        if done is not None:
            waiting.append((done, start, len(pipeline) - start))
    if not len(pipeline):
        return
    answers: Sequence[Any] | Exception
    try:
        if failure is not None:
            raise failure
        answers = pipeline.execute(raise_on_error=False)
    except Exception as exc:  # Redis down, hung or refusing: each subsystem fails safe its own way
        answers = exc
    for done, start, count in waiting:
        try:
            done(answers if isinstance(answers, Exception) else answers[start : start + count])
        except Exception:
            logger.exception("an answer from Redis could not be handled")
