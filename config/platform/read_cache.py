"""A read cache that never serves stale data after a write.

Cached bodies live under a *versioned* key: ``<namespace>:<version>:<…>``.
A write that changes what a namespace shows bumps its version when its
transaction commits — every namespace the transaction changed, in one round
trip — so whatever any reader cached before the commit, from the data before
the write, sits under a version nobody asks for again. Until then the writing
transaction's own reads of those namespaces skip the cache, so they see the
write; a transaction that rolls back bumps nothing, because nothing changed.
Every process reads the version from the shared cache (Redis when
``REDIS_URL`` is set), so a write committed through one process is visible
at once through every other.

The cache is an optimisation, never a dependency: when it fails (Redis down
or hung), the failure is logged and counted, the cache is skipped for a few
seconds, and the answer comes from the database. A write made meanwhile is
remembered: its namespace's version is bumped before this process uses the
cache again.
"""

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import connection, transaction

from config.platform import breaker, metrics, redis_pipeline

logger = logging.getLogger(__name__)
T = TypeVar("T")

stats = {"hits": 0, "misses": 0, "errors": 0}
# Namespaces changed while the cache could not be told: their versions are
# bumped before this process uses the cache again, or entries cached before
# the write would be served once the cache is back.
_pending: set[str] = set()
# A hit's count, its series looked up once: labels() checks and locks each time.
_HITS, _MISSES = metrics.CACHE_REQUESTS.labels("hit"), metrics.CACHE_REQUESTS.labels("miss")


def available() -> bool:
    return breaker.available()


def mark_failed(exc: Exception) -> None:
    stats["errors"] += 1
    metrics.CACHE_REQUESTS.labels("error").inc()
    breaker.trip()
    logger.warning("cache unavailable for %.0fs, answering from the database: %s", breaker.BACKOFF_SECONDS, exc)


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


def _redis() -> Any:
    """django-redis's client when the cache is Redis; None for any other cache."""
    return getattr(cache, "client", None)


# Bump the versions in KEYS; one that is missing starts from ARGV[1] (the clock).
_INCR_VERSIONS_LUA = """
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[1], 'NX')
  redis.call('INCR', KEYS[i])
end
"""
_incr_script: Any = None  # registered once, run on any client


def _incr_versions(namespaces: Iterable[str]) -> None:
    """Bump the namespaces' versions, in one round trip to Redis (one Lua
    call). A version that is missing starts from the clock first, so it
    still moves ahead of any entry cached under an older one."""
    global _incr_script
    namespaces = list(namespaces)
    redis = _redis()
    if redis is None:
        for namespace in namespaces:
            try:
                cache.incr(_version_key(namespace))
            except ValueError:  # no version yet: start one
                version(namespace)
        return
    client = redis.get_client(write=True)
    if _incr_script is None:
        _incr_script = client.register_script(_INCR_VERSIONS_LUA)
    keys, args = _incr_versions_args(namespaces)
    _incr_script(keys=keys, args=args, client=client)


def _incr_versions_args(namespaces: list[str]) -> tuple[list[str], list[int]]:
    """The keys and arguments of ``_INCR_VERSIONS_LUA`` for ``namespaces``."""
    return [cache.make_key(_version_key(namespace)) for namespace in namespaces], [time.time_ns() // 1000]


def _usable() -> bool:
    """No recent failure, and every bump missed during the last one made up."""
    if not available():
        return False
    if _pending:
        missed = set(_pending)  # another greenlet may add to it while Redis answers
        try:
            _incr_versions(sorted(missed))
        except Exception as exc:
            mark_failed(exc)
            return False
        _pending.difference_update(missed)
    return True


def _bump(namespaces: set[str]) -> None:
    if not _usable():
        _pending.update(namespaces)
        return
    try:
        _incr_versions(sorted(namespaces))
    except Exception as exc:
        _pending.update(namespaces)
        mark_failed(exc)


class _Changed(threading.local):
    """What this thread's open transaction has changed: namespace → the
    depth of atomic blocks it was changed at."""

    def __init__(self) -> None:
        self.depths: dict[str, int] = {}


_changed = _Changed()


def _take_changed() -> set[str]:
    """After commit: the first of a commit's callbacks takes every changed
    namespace, to bump them in one call; the others find nothing left to do.
    What a rolled-back transaction (or savepoint) left here is bumped too, by
    the next commit: an extra bump costs one miss."""
    changed_here = set(_changed.depths)
    _changed.depths = {}
    return changed_here


def _flush() -> None:
    if changed_here := _take_changed():
        _bump(changed_here)


def _flush_into(pipeline: Any) -> redis_pipeline.Done | None:
    """:func:`_flush` as one command of a pipeline (Redis)."""
    changed_here = _take_changed()
    if not changed_here:
        return None
    if not _usable():
        _pending.update(changed_here)
        return None
    namespaces = sorted(changed_here)

    def done(answers: Sequence[Any] | Exception) -> None:
        failure = redis_pipeline.only_answer(answers)
        if isinstance(failure, Exception):
            _pending.update(namespaces)
            mark_failed(failure)

    try:
        keys, args = _incr_versions_args(namespaces)
    except Exception as exc:
        done(exc)
        return None
    pipeline.eval(_INCR_VERSIONS_LUA, len(keys), *keys, *args)
    return done


def changed(namespace: str) -> None:
    """Call from a write that changes what ``namespace`` shows: its version
    is bumped when the transaction commits (outside one, at once)."""
    depth = len(connection.atomic_blocks)
    _changed.depths[namespace] = min(depth, _changed.depths.get(namespace, depth))
    # Every call asks; the first callback to run bumps them all. (The callback
    # of a savepoint that rolls back is dropped; a later one still runs.)
    if _redis() is None:
        transaction.on_commit(_flush)
    else:  # with the other commands that follow the commit (config.platform.redis_pipeline)
        redis_pipeline.after_commit(_flush_into)


def _being_written(namespace: str) -> bool:
    """Whether this thread's open transaction changed ``namespace``: true
    while the atomic block it was changed in is open. A name left from a
    transaction that rolled back is forgotten."""
    depth = _changed.depths.get(namespace)
    if depth is None:
        return False
    if len(connection.atomic_blocks) >= depth > 0:
        return True
    del _changed.depths[namespace]
    return False


# The namespace's version (KEYS[1]) and the entry under it (ARGV[1] .. version
# .. ARGV[2]), in one round trip: nothing when there is no version yet, the
# version alone on a miss.
_VERSIONED_GET_LUA = """
local v = redis.call('GET', KEYS[1])
if not v then return {} end
local entry = redis.call('GET', ARGV[1] .. v .. ARGV[2])
if entry then return {v, entry} end
return {v}
"""
_versioned_get: Any = None  # the script, registered once, run on any client


def _digest(parts: tuple[Any, ...]) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


def _versioned_get_script(client: Any) -> Any:
    global _versioned_get
    if _versioned_get is None:
        _versioned_get = client.register_script(_VERSIONED_GET_LUA)
    return _versioned_get


def _found(namespace: str, digest: str, answer: list[Any]) -> tuple[str, Any] | None:
    """The entry's key and the entry (None on a miss) from the script's
    answer; None when the namespace has no version yet."""
    if not answer:
        return None
    key = f"{namespace}:{int(answer[0])}:{digest}"
    return key, _redis().decode(answer[1]) if len(answer) > 1 else None


def _versioned_get_args(namespace: str, digest: str) -> tuple[list[str], list[str]]:
    """The keys and arguments of ``_VERSIONED_GET_LUA`` for one entry."""
    return [cache.make_key(_version_key(namespace))], [cache.make_key(f"{namespace}:"), f":{digest}"]


def _lookup(namespace: str, digest: str) -> tuple[str, Any]:
    """The entry's key under the namespace's current version, and the entry
    (None on a miss)."""
    redis = _redis()
    if redis is not None:
        client = redis.get_client(write=False)
        keys, args = _versioned_get_args(namespace, digest)
        answer = _versioned_get_script(client)(keys=keys, args=args, client=client)
        if found := _found(namespace, digest, answer):
            return found
    key = f"{namespace}:{version(namespace)}:{digest}"
    return key, cache.get(key)


class _Ahead(threading.local):
    """The answer of this request's lookup made ahead: (namespace, digest,
    the script's answer)."""

    def __init__(self) -> None:
        self.answer: tuple[str, str, list[Any]] | None = None


_ahead = _Ahead()


def look_up_ahead(namespace: str, parts: tuple[Any, ...]) -> None:
    """Have the lookup :func:`cached` will make for ``parts`` ride this
    request's first round trip to Redis — the rate limiter's
    (config.platform.redis_pipeline) — instead of making one of its own.
    With no Redis, a recent failure or bumps still to make up, it does not."""
    _ahead.answer = None
    redis = _redis()
    if redis is None or _pending or not available() or _being_written(namespace):
        return
    digest = _digest(parts)

    def prepare(pipeline: Any) -> redis_pipeline.Done:
        keys, args = _versioned_get_args(namespace, digest)
        pipeline.evalsha(_versioned_get_script(redis.get_client(write=False)).sha, len(keys), *keys, *args)

        def done(answers: Sequence[Any] | Exception) -> None:
            answer = redis_pipeline.only_answer(answers)
            if not isinstance(answer, Exception):  # else cached() looks it up itself
                _ahead.answer = (namespace, digest, answer)

        return done

    redis_pipeline.ride(prepare)


def cached(namespace: str, parts: tuple[Any, ...], ttl: int | None, compute: Callable[[], T]) -> T:
    """``compute()``, through the cache. Exceptions of ``compute`` (404, 400…)
    propagate and nothing is cached."""
    ahead, _ahead.answer = _ahead.answer, None
    if _being_written(namespace) or not _usable():
        return compute()
    digest = _digest(parts)
    try:
        found = None
        if ahead is not None and ahead[:2] == (namespace, digest):
            found = _found(namespace, digest, ahead[2])
        key, hit = found or _lookup(namespace, digest)
    except Exception as exc:
        mark_failed(exc)
        return compute()
    if hit is not None:
        stats["hits"] += 1
        _HITS.inc()
        return hit
    stats["misses"] += 1
    _MISSES.inc()
    value = compute()
    try:
        cache.set(key, value, timeout=ttl)
    except Exception as exc:
        mark_failed(exc)
    return value


def reset() -> None:
    """Forget a recent failure of Redis (tests; an operator after Redis is back)."""
    breaker.reset()
