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
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import connection, transaction

from config.platform import metrics

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


def _redis() -> Any:
    """django-redis's client when the cache is Redis; None for any other cache."""
    return getattr(cache, "client", None)


# Bump the first ARGV[2] versions in KEYS; one that is missing starts from
# ARGV[1] (the clock). Then set each further key, if absent, for its ARGV[2 + i]
# seconds; returns 1 for each one set, 0 for each one that was there.
_INCR_VERSIONS_LUA = """
local bumps = tonumber(ARGV[2])
for i = 1, bumps do
  redis.call('SET', KEYS[i], ARGV[1], 'NX')
  redis.call('INCR', KEYS[i])
end
local added = {}
for i = bumps + 1, #KEYS do
  added[#added + 1] = redis.call('SET', KEYS[i], 1, 'NX', 'EX', ARGV[i - bumps + 2]) and 1 or 0
end
return added
"""
_incr_script: Any = None  # registered once, run on any client


def _incr_versions(namespaces: Iterable[str], adds: dict[str, int] | None = None) -> dict[str, bool]:
    """Bump the namespaces' versions and set each of ``adds`` (key → seconds)
    if absent, in one round trip to Redis (one Lua call); returns whether
    each key of ``adds`` was set. A version that is missing starts from the
    clock first, so it still moves ahead of any entry cached under an older
    one."""
    global _incr_script
    adds = adds or {}
    namespaces = list(namespaces)
    redis = _redis()
    if redis is None:
        for namespace in namespaces:
            try:
                cache.incr(_version_key(namespace))
            except ValueError:  # no version yet: start one
                version(namespace)
        return {key: cache.add(key, 1, timeout=seconds) for key, seconds in adds.items()}
    client = redis.get_client(write=True)
    if _incr_script is None:
        _incr_script = client.register_script(_INCR_VERSIONS_LUA)
    added = _incr_script(
        keys=[cache.make_key(_version_key(namespace)) for namespace in namespaces]
        + [cache.make_key(key) for key in adds],
        args=[time.time_ns() // 1000, len(namespaces), *adds.values()],
        client=client,
    )
    return {key: bool(flag) for key, flag in zip(adds, added, strict=True)}


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


def _bump(namespaces: set[str], adds: dict[str, int]) -> dict[str, bool]:
    if not _usable():
        _pending.update(namespaces)
        return {}
    try:
        return _incr_versions(sorted(namespaces), adds)
    except Exception as exc:
        _pending.update(namespaces)
        mark_failed(exc)
        return {}


class _Writes(threading.local):
    """What this thread's open transaction has changed (namespace → the
    depth of atomic blocks it was changed at), and the keys it sets when it
    commits (key → seconds, and what to call with the outcome)."""

    def __init__(self) -> None:
        self.depths: dict[str, int] = {}
        self.adds: dict[str, tuple[int, list[Callable[[bool | None], None]]]] = {}


_writes = _Writes()


def _flush() -> None:
    """After commit: the first of a commit's callbacks bumps every changed
    namespace and sets every key asked for, in one call, then tells each
    asker the outcome; the others find nothing left to do. What a rolled-back
    transaction (or savepoint) left here is done too, by the next commit:
    an extra bump, or an extra key set and its asker told — callers must
    bear that (see :func:`add_on_commit`)."""
    changed_here, adds = set(_writes.depths), _writes.adds
    if not changed_here and not adds:
        return
    _writes.depths, _writes.adds = {}, {}
    added = _bump(changed_here, {key: seconds for key, (seconds, _) in adds.items()})
    for key, (_, callbacks) in adds.items():
        outcome = added.get(key)
        for callback in callbacks:
            callback(outcome)
            outcome = False if outcome else outcome  # set once: only the first asker set it


def add_on_commit(key: str, seconds: int, then: Callable[[bool | None], None]) -> None:
    """Set ``key`` in the cache, if absent, for ``seconds`` when the
    transaction commits — in the same round trip as the versions' bump — and
    call ``then`` with the outcome: True if this set it (the first asker of
    the commit; the others get False), False if it was there already, None
    if the cache could not be asked (it failed, or is backing off).

    If the transaction rolls back, the key may still be set and ``then``
    called, at this thread's next commit: ``then`` must be harmless for work
    that was rolled back."""
    seconds_and_callbacks = _writes.adds.setdefault(key, (seconds, []))
    seconds_and_callbacks[1].append(then)
    transaction.on_commit(_flush)


def changed(namespace: str) -> None:
    """Call from a write that changes what ``namespace`` shows: its version
    is bumped when the transaction commits (outside one, at once)."""
    depth = len(connection.atomic_blocks)
    _writes.depths[namespace] = min(depth, _writes.depths.get(namespace, depth))
    # Every call asks; the first callback to run bumps them all. (The callback
    # of a savepoint that rolls back is dropped; a later one still runs.)
    transaction.on_commit(_flush)


def _being_written(namespace: str) -> bool:
    """Whether this thread's open transaction changed ``namespace``: true
    while the atomic block it was changed in is open. A name left from a
    transaction that rolled back is forgotten."""
    depth = _writes.depths.get(namespace)
    if depth is None:
        return False
    if len(connection.atomic_blocks) >= depth > 0:
        return True
    del _writes.depths[namespace]
    return False


def versioned_get_lua(version_key: str, prefix: str, suffix: str) -> str:
    """Lua appending to the table ``out`` the namespace's current version and
    the entry under it: nothing when there is no version yet, the version
    alone on a miss. The arguments are Lua expressions: the version's key,
    and the entry's key before and after the version."""
    return f"""
local v = redis.call('GET', {version_key})
if v then
  out[#out + 1] = v
  local entry = redis.call('GET', {prefix} .. v .. {suffix})
  if entry then out[#out + 1] = entry end
end
"""


# The version and the entry under it, in one round trip.
_VERSIONED_GET_LUA = "local out = {}" + versioned_get_lua("KEYS[1]", "ARGV[1]", "ARGV[2]") + "return out"
_versioned_get: Any = None  # the script, registered once, run on any client


def _digest(parts: tuple[Any, ...]) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


class Probe:
    """One lookup of :func:`cached`: the versioned GET's arguments
    (:attr:`keys`, :attr:`args`) and, once made, its answer (what
    :func:`versioned_get_lua` appended) in :attr:`answer`. :func:`cached`
    makes it itself, unless it was made ahead in another module's round trip
    to Redis: the rate limiter reads it in the same Lua call as the limits (a
    cached page is then one round trip, not two)."""

    __slots__ = ("answer", "args", "digest", "keys", "namespace", "parts")

    def __init__(self, namespace: str, parts: tuple[Any, ...]) -> None:
        self.namespace, self.parts, self.digest = namespace, parts, _digest(parts)
        self.keys = [cache.make_key(_version_key(namespace))]
        self.args = [cache.make_key(f"{namespace}:"), f":{self.digest}"]
        self.answer: list[Any] | None = None

    def found(self) -> tuple[str, Any] | None:
        """The entry's key and the entry (None on a miss), from the answer;
        None when there is none yet, or the namespace has no version yet."""
        if not self.answer:
            return None
        entry = self.answer[1] if len(self.answer) > 1 else None
        key = f"{self.namespace}:{int(self.answer[0])}:{self.digest}"
        return key, None if entry is None else _redis().decode(entry)


def probe_for(namespace: str, parts: tuple[Any, ...]) -> Probe | None:
    """A :class:`Probe` for ``cached(namespace, parts, …)``, or None where
    that would not read Redis (another cache, a recent failure, a namespace
    this thread's transaction changed)."""
    if _redis() is None or _being_written(namespace) or not _usable():
        return None
    try:
        return Probe(namespace, parts)
    except Exception as exc:  # the cache's own key making failed: skip it, as any failure
        mark_failed(exc)
        return None


def _lookup(probe: Probe) -> tuple[str, Any]:
    """The entry's key under the namespace's current version, and the entry
    (None on a miss)."""
    global _versioned_get
    redis = _redis()
    if redis is not None:
        client = redis.get_client(write=False)
        if _versioned_get is None:
            _versioned_get = client.register_script(_VERSIONED_GET_LUA)
        probe.answer = _versioned_get(keys=probe.keys, args=probe.args, client=client)
        if (found := probe.found()) is not None:
            return found
    key = f"{probe.namespace}:{version(probe.namespace)}:{probe.digest}"
    return key, cache.get(key)


def cached(
    namespace: str, parts: tuple[Any, ...], ttl: int | None, compute: Callable[[], T], *, probe: Probe | None = None
) -> T:
    """``compute()``, through the cache. Exceptions of ``compute`` (404, 400…)
    propagate and nothing is cached. A ``probe`` of the same lookup that was
    answered saves the round trip."""
    if _being_written(namespace) or not _usable():
        return compute()
    try:
        if probe is None or (probe.namespace, probe.parts) != (namespace, parts):
            probe = Probe(namespace, parts)
        key, hit = probe.found() or _lookup(probe)
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
