"""A read cache that never serves stale data after a write.

Cached bodies live under a *versioned* key: ``<namespace>:<version>:<…>``.
A write that changes what a namespace shows bumps its version — once at
once (so the writing request and its transaction see fresh data) and once
after commit (so no reader can have cached pre-commit data under the new
version). Every process reads the version from the shared cache (Redis when
``REDIS_URL`` is set), so a write completed through one process is visible
at once through every other.

The cache is an optimisation, never a dependency: when it fails (Redis down
or hung), the failure is logged and counted, the cache is skipped for a few
seconds, and the answer comes from the database. A write made meanwhile is
remembered: its namespace's version is bumped before this process uses the
cache again.
"""

import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import transaction

from config import metrics

logger = logging.getLogger(__name__)
T = TypeVar("T")

BACKOFF_SECONDS = 5.0  # after a failure, leave the cache alone this long

stats = {"hits": 0, "misses": 0, "errors": 0}
_down_until = 0.0
# Namespaces changed while the cache could not be told: their versions are
# bumped before this process uses the cache again, or entries cached before
# the write would be served once the cache is back.
_pending: set[str] = set()


def available() -> bool:
    return time.monotonic() >= _down_until


def mark_failed(exc: Exception) -> None:
    global _down_until
    stats["errors"] += 1
    metrics.CACHE_REQUESTS.labels("error").inc()
    _down_until = time.monotonic() + BACKOFF_SECONDS
    logger.warning("cache unavailable for %.0fs, answering from the database: %s", BACKOFF_SECONDS, exc)


def _version_key(namespace: str) -> str:
    return f"v:{namespace}"


def version(namespace: str) -> int:
    """The namespace's current version. A missing version (first use, or
    evicted) starts from the clock, so it is always ahead of any older one."""
    key = _version_key(namespace)
    current = cache.get(key)
    if current is None:
        cache.add(key, time.time_ns() // 1000, timeout=None)
        current = cache.get(key)
    return int(current)


def _incr_version(namespace: str) -> None:
    try:
        cache.incr(_version_key(namespace))
    except ValueError:  # no version yet: start one
        version(namespace)


def _usable() -> bool:
    """No recent failure, and every bump missed during the last one made up."""
    if not available():
        return False
    for namespace in list(_pending):
        try:
            _incr_version(namespace)
        except Exception as exc:
            mark_failed(exc)
            return False
        _pending.discard(namespace)
    return True


def _bump(namespace: str) -> None:
    if not _usable():
        _pending.add(namespace)
        return
    try:
        _incr_version(namespace)
    except Exception as exc:
        _pending.add(namespace)
        mark_failed(exc)


def changed(namespace: str) -> None:
    """Call from a write that changes what ``namespace`` shows."""
    _bump(namespace)
    transaction.on_commit(lambda: _bump(namespace))


def cached(namespace: str, parts: tuple[Any, ...], ttl: int | None, compute: Callable[[], T]) -> T:
    """``compute()``, through the cache. Exceptions of ``compute`` (404, 400…)
    propagate and nothing is cached."""
    if not _usable():
        return compute()
    try:
        digest = hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()
        key = f"{namespace}:{version(namespace)}:{digest}"
        hit = cache.get(key)
    except Exception as exc:
        mark_failed(exc)
        return compute()
    if hit is not None:
        stats["hits"] += 1
        metrics.CACHE_REQUESTS.labels("hit").inc()
        return hit  # type: ignore[no-any-return]
    stats["misses"] += 1
    metrics.CACHE_REQUESTS.labels("miss").inc()
    value = compute()
    try:
        cache.set(key, value, timeout=ttl)
    except Exception as exc:
        mark_failed(exc)
    return value


def reset() -> None:
    """Forget a recent failure (tests; an operator after Redis is back)."""
    global _down_until
    _down_until = 0.0
