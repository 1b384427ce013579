"""Liveness and readiness.

``/healthz`` touches nothing: the process answers. ``/readyz`` checks the
database, the cache and the broker at the same time, each bounded by
``READINESS_TIMEOUT_SECONDS``, so a slow dependency makes a quick 503 rather
than a pile of waiting requests.

However many probes arrive, a process checks each dependency at most once at
a time, and at most once per ``FRESH_SECONDS``: a result is reused that long,
and a call that comes while a check is running waits for that check (single
flight) instead of starting another — one database connection at a time, one
thread per dependency, even while a dependency hangs. A call waits until the
running check is ``READINESS_TIMEOUT_SECONDS`` old, no longer (so once it is,
calls answer at once).

The 503 names what failed, nothing more: an exception's text holds hosts,
ports and user names. The detail is logged, once per check.
"""

import logging
import math
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import load_backend
from django.http import HttpRequest, JsonResponse

logger = logging.getLogger(__name__)

FRESH_SECONDS = 1.0  # a result is reused this long
# A check still running this long after it started (a dependency that hangs
# past its own timeouts) no longer holds back a new one: at most one such
# abandoned thread per dependency per this long.
ABANDON_AFTER_SECONDS = 60.0


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database() -> None:
    # A connection of its own, outside any pool (gevent's default), so a
    # hung one is abandoned alone and a busy pool does not fail the check.
    settings_dict = connections.settings[DEFAULT_DB_ALIAS]
    options = {k: v for k, v in settings_dict.get("OPTIONS", {}).items() if k != "pool"}
    if "postgresql" in settings_dict["ENGINE"]:
        # libpq counts whole seconds, at least 2: a database that does not
        # answer frees the check's thread soon after the probe gave up on it.
        options["connect_timeout"] = max(2, math.ceil(settings.READINESS_TIMEOUT_SECONDS))
    wrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper
    connection = wrapper({**settings_dict, "OPTIONS": options}, DEFAULT_DB_ALIAS)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()


def _cache() -> None:
    cache.set("readyz", "1", timeout=5)
    if cache.get("readyz") != "1":
        raise RuntimeError("the cache did not return what was written")


def _broker() -> None:
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        from config.celery import app

        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=settings.READINESS_TIMEOUT_SECONDS)


CHECKS: dict[str, Callable[[], None]] = {"database": _database, "cache": _cache, "broker": _broker}


class _Run:
    """One check of one dependency, in a thread of its own."""

    __slots__ = ("done", "ok", "started", "timeout_logged")

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.done = threading.Event()
        self.ok = False
        self.timeout_logged = False


class _Dependency:
    """A dependency's last result and the check running now, if any."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lock = threading.Lock()
        self.result: tuple[float, bool] | None = None  # (when it finished, whether it answered)
        self.running: _Run | None = None

    def begin(self) -> bool | _Run:
        """A result fresh enough to reuse, or the run to wait for (started
        now, unless one is running already)."""
        with self.lock:
            now = time.monotonic()
            if self.result is not None and now - self.result[0] < FRESH_SECONDS:
                return self.result[1]
            run = self.running
            if run is None or now - run.started > ABANDON_AFTER_SECONDS:
                run = self.running = _Run()
                threading.Thread(target=self._check, args=(run,), name=f"readyz-{self.name}", daemon=True).start()
            return run

    def wait(self, run: _Run, timeout: float) -> bool:
        """Whether ``run`` answered by the time it is ``timeout`` old."""
        if run.done.wait(max(0.0, run.started + timeout - time.monotonic())):
            return run.ok
        with self.lock:
            first, run.timeout_logged = not run.timeout_logged, True
        if first:
            logger.warning("readiness check %s: no answer within %gs", self.name, timeout)
        return False

    def _check(self, run: _Run) -> None:
        try:
            CHECKS[self.name]()
            run.ok = True
        except Exception as exc:
            logger.warning("readiness check %s failed: %s: %s", self.name, type(exc).__name__, exc)
        with self.lock:
            self.result = (time.monotonic(), run.ok)
            if self.running is run:
                self.running = None
        run.done.set()


_dependencies: dict[str, _Dependency] = {}


def forget() -> None:
    """Start afresh: no result to reuse, no check to wait for (tests). A
    check still running finishes into the state it was started from."""
    global _dependencies
    _dependencies = {name: _Dependency(name) for name in CHECKS}


forget()


def readyz(request: HttpRequest) -> JsonResponse:
    timeout = settings.READINESS_TIMEOUT_SECONDS
    dependencies = _dependencies
    begun = {name: dependencies[name].begin() for name in CHECKS}  # all at once, then wait for each
    ready = {
        name: found if isinstance(found, bool) else dependencies[name].wait(found, timeout)
        for name, found in begun.items()
    }
    checks = {name: "ok" if ok else "unavailable" for name, ok in ready.items()}
    if all(ready.values()):
        return JsonResponse({"status": "ok", "checks": checks})
    errors = [
        {"code": "unavailable", "detail": f"{name} is unavailable.", "attr": name}
        for name, ok in ready.items()
        if not ok
    ]
    return JsonResponse({"type": "server_error", "errors": errors, "checks": checks}, status=503)
