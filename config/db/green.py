"""Stockroom under gevent (gunicorn.conf.py's worker class).

gunicorn's gevent worker patches the standard library before it loads the
application: each client connection is then served by a greenlet, a
"thread" is a greenlet, and ``threading.local`` holds one value per
greenlet. What belongs to one request (Django's connections, the read
cache's pending writes) rightly stays in ``threading.local``. What a process
keeps for all its requests (compiled queries, a broker producer) must not be
rebuilt for every client connection: it subclasses :func:`os_thread_local`,
which is per OS thread whether gevent is there or not.

Waiting on a socket goes through gevent's loop, which is the point, but
gevent's stand-ins for ``select`` cost more than the wait itself when one
event is waited for or the answer is known at once. So psycopg waits through
:func:`psycopg_wait`, and the pooled connections' checks ("is there anything
to read?") ask the operating system (:func:`readable_now`; for Redis
:class:`RedisParser`, after a yield to the loop).
"""

import functools
import os
import select
import sys
import threading
from typing import Any

import psycopg
from gevent import get_hub
from gevent.hub import Waiter
from psycopg import waiting
from redis._parsers import _HiredisParser

_READ, _WRITE = int(waiting.Ready.R), int(waiting.Ready.W)
_READ_WRITE = _READ | _WRITE


def is_green() -> bool:
    """Whether gevent has patched ``threading`` in this process."""
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey is not None and monkey.is_module_patched("threading"))


def os_thread_local() -> Any:
    """The class of thread-local storage per OS thread: ``threading.local``
    as it was before gevent patched it (a greenlet switch inside a method
    using it is then seen by the other greenlets of the thread)."""
    if is_green():
        from gevent import monkey

        return monkey.get_original("threading", "local")
    return threading.local


def psycopg_wait(gen: Any, fileno: int, interval: float = 0.0, timeout: float | None = None) -> Any:
    """psycopg's wait function for a gevent worker (``psycopg.waiting.wait``).

    psycopg runs every query as a generator that says what the socket must
    be ready for; a wait function waits for it. Under gevent psycopg picks
    its ``wait_poll``, which builds gevent's emulation of ``select.poll``
    for each wait: a poll object, a result set, an event and a timer, a
    fifth of a placed order's database time in Python. This one starts two
    of gevent's loop watchers, one for the event the generator waits for,
    as gevent's own sockets do, and a timer of ``interval`` (psycopg's
    100 ms) after which it checks that the socket is still open, as
    ``wait_poll`` does: a connection closed under a waiting query ends it
    with psycopg's error instead of a wait without end. A wait with a
    ``timeout`` (psycopg's cancel and notifies) goes to psycopg's own
    (gevent-patched) ``wait_poll``. Installed by config.db.postgresql under
    gevent.
    """
    if timeout is not None or interval is None or interval <= 0:
        return waiting.wait_poll(gen, fileno, interval, timeout)
    hub = get_hub()
    try:
        wanted = next(gen)
        while True:
            ready = _ready_within(hub, fileno, wanted, interval)
            if ready is None:  # nothing within the interval: is the socket still there?
                _check_open(fileno)
                continue
            # Readiness for read *or* write tells which only by asking the socket.
            wanted = gen.send(ready if ready != _READ_WRITE else _ready_now(fileno))
    except StopIteration as stop:
        return stop.value


def _ready_within(hub: Any, fileno: int, wanted: int, interval: float) -> int | None:
    """``wanted`` once ``fileno`` is ready for it (psycopg's Wait.R/W/RW are
    the loop's READ/WRITE bits), or None after ``interval`` seconds."""
    waiter: Waiter[int | None] = Waiter(hub)
    try:
        watcher = hub.loop.io(fileno, wanted)
    except OSError:
        _check_open(fileno)
        raise
    timer = hub.loop.timer(interval)
    try:
        watcher.start(waiter.switch, wanted)
        timer.start(waiter.switch, None)
        return waiter.get()
    finally:
        watcher.close()
        timer.close()


def _check_open(fileno: int) -> None:
    """psycopg's error for a connection whose socket was closed."""
    try:
        os.fstat(fileno)
    except OSError as exc:
        raise psycopg.OperationalError("connection socket closed") from exc


def _ready_now(fileno: int) -> int:
    """What ``fileno`` is ready for at once (psycopg's Ready bits)."""
    events = _events_now(fileno, select.POLLIN | select.POLLOUT)
    ready = _READ if events & (select.POLLIN | select.POLLERR | select.POLLHUP) else 0
    return ready | (_WRITE if events & select.POLLOUT else 0)


def readable_now(fileno: int) -> bool:
    """Whether ``fileno`` has something to read (or was closed), asked
    without waiting — under gevent too, whose ``select`` would go through
    its loop to answer a question that needs no wait."""
    return bool(_events_now(fileno, select.POLLIN))


def _events_now(fileno: int, mask: int) -> int:
    """``fileno``'s poll events for ``mask`` at once (0: none), asked of the
    operating system without waiting, so without gevent."""
    poll = _os_poll()()
    poll.register(fileno, mask)
    return next((events for _, events in poll.poll(0)), 0)


@functools.cache
def _os_poll() -> Any:
    """The operating system's ``select.poll`` (kept as it was before gevent
    patched it, if it has)."""
    if is_green():
        from gevent import monkey

        return monkey.get_original("select", "poll")
    return select.poll


class RedisParser(_HiredisParser):
    """redis-py's parser (hiredis), checking a pooled connection cheaply under gevent.

    Before each command redis-py's pool asks whether the connection it hands
    out has anything to read (it should not), with a fresh ``select.poll`` —
    under gevent its emulation, which starts a watcher, an event and a timer
    to answer a question that needs no wait (6 % of a worker's CPU under W1).
    Here the operating system is asked (:func:`readable_now`), after a yield
    to gevent's loop: the emulation's wait had been the point where each
    request let the loop run (accept, other greenlets' sockets), and without
    it the connections split unevenly between the workers
    (docs/PERFORMANCE.md). Data, a closed socket or TLS go to redis-py's own
    check. django-redis's ``PARSER_CLASS`` under gevent (config/settings.py).
    """

    def can_read(self, timeout: float = 0) -> bool:
        sock, reader = self._sock, self._reader
        if timeout != 0 or sock is None or reader is None or hasattr(type(sock), "pending"):
            return bool(super().can_read(timeout))
        hub = get_hub()
        turn = hub.loop.timer(0)
        try:
            hub.wait(turn)  # the loop runs what is ready, then this
        finally:
            turn.close()
        # Disconnected meanwhile, data, or a closed socket: redis-py's own check says what it is.
        if self._sock is not sock or self._reader is not reader or reader.has_data() or readable_now(sock.fileno()):
            return bool(super().can_read(timeout))
        return False
