"""Rate limits: GCRA (the generic cell rate algorithm), atomic in Redis.

GCRA keeps one number per key — the *theoretical arrival time* (TAT) — and
admits a request when it does not arrive more than one period ahead of it.
It allows a burst of ``limit`` requests, then one every ``period / limit``
seconds, with O(1) state. It is not a strict sliding window: a client that
spends its burst and then keeps to the steady pace gets up to
``2 × limit − 1`` requests into one period; over longer spans the rate tends
to ``limit / period``. The arithmetic is the pure
:func:`gcra`; Redis runs the same arithmetic in one Lua script (atomic across
every process, clocked by Redis's own ``TIME``); without ``REDIS_URL`` a
process-local store runs :func:`gcra` under a lock.

If Redis does not answer, the limiter fails open: the request is served,
and the failure is logged and counted.
"""

import functools
import ipaddress
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from redis.exceptions import NoScriptError
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from config.platform import breaker, metrics, redis_pipeline
from config.platform.network import address_in

logger = logging.getLogger(__name__)

KEY_PREFIX = "rl"
_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}


# --- The pure rule ---------------------------------------------------------------


MICROS = 1_000_000


@dataclass(frozen=True, slots=True)
class Rate:
    limit: int
    period: float  # seconds

    def __post_init__(self) -> None:
        if self.limit < 1 or self.period_us < self.limit:
            raise ValueError(f"a rate needs a limit >= 1 and at most one request per microsecond: {self}")

    @property
    def period_us(self) -> int:
        return round(self.period * MICROS)

    @property
    def interval_us(self) -> int:
        """Whole microseconds between requests once the burst is spent.
        Integers keep the arithmetic exact: in floats, at today's epoch
        (~1.7e9 s), the last request of a burst was refused by rounding."""
        return self.period_us // self.limit

    @property
    def interval(self) -> float:
        return self.interval_us / MICROS


@functools.lru_cache(maxsize=64)
def parse_rate(text: str) -> Rate:
    """``"20/min"`` → Rate(20, 60); ``"5/10s"`` → Rate(5, 10). Units: s, min, h,
    day (and their long names)."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*", text.lower())
    if match and match.group(3) in _UNITS:
        try:
            return Rate(int(match.group(1)), float(int(match.group(2) or 1) * _UNITS[match.group(3)]))
        except ValueError:
            pass
    raise ValueError(f"not a rate: {text!r} (expected e.g. 20/min)")


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_after: float  # seconds until the limit is fully available again
    retry_after: float  # seconds until the next request would be allowed (0 if allowed)
    tat: int  # the state to store, in microseconds (unchanged when refused)


def gcra(tat: int | None, now: int, rate: Rate) -> Decision:
    """Decide one request arriving at ``now`` given the stored ``tat`` (None
    for a new key); both are whole microseconds. Pure: the caller stores
    ``Decision.tat`` when allowed.

    A burst of ``limit`` requests is allowed, then one every
    ``rate.interval_us``; the tolerance is ``limit × interval`` (the period,
    give or take ``limit`` microseconds of rounding)."""
    interval = rate.interval_us
    window = rate.limit * interval
    current = now if tat is None else max(tat, now)
    new_tat = current + interval
    if new_tat - now > window:
        retry_after = new_tat - window - now
        return Decision(False, rate.limit, 0, (current - now) / MICROS, retry_after / MICROS, current)
    remaining = (window - (new_tat - now)) // interval
    return Decision(True, rate.limit, remaining, (new_tat - now) / MICROS, 0.0, new_tat)


# --- Stores ----------------------------------------------------------------------


# The same arithmetic as gcra(), in whole microseconds, for every key of a
# request at once: KEYS[i] with ARGV[2i - 1] (limit) and ARGV[2i] (interval);
# four numbers back per key. Lua numbers are doubles: exact for integers below
# 2^53 (epoch microseconds are ~1.7e15), but tostring() keeps only 14 digits,
# so the state is written with %d.
_GCRA_LUA = """
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out = {}
for i = 1, #KEYS do
  local key = KEYS[i]
  local limit = tonumber(ARGV[2 * i - 1])
  local interval = tonumber(ARGV[2 * i])
  local window = limit * interval
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then tat = now end
  local new_tat = tat + interval
  if new_tat - now > window then
    for _, v in ipairs({0, 0, tat - now, new_tat - window - now}) do out[#out + 1] = v end
  else
    redis.call('SET', key, string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
    for _, v in ipairs({1, math.floor((window - (new_tat - now)) / interval), new_tat - now, 0}) do
      out[#out + 1] = v
    end
  end
end
return out
"""


class LocalStore:
    """One process's limits (the embedded default): :func:`gcra` under a lock."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._tats: dict[str, int] = {}
        self._lock = threading.Lock()

    def check(self, key: str, rate: Rate) -> Decision:
        (decision,) = self.check_many([(key, rate)])
        return decision

    def check_many(self, checks: Sequence[tuple[str, Rate]]) -> list[Decision]:
        with self._lock:
            now = round(self.clock() * MICROS)
            decisions = []
            for key, rate in checks:
                decision = gcra(self._tats.get(key), now, rate)
                if decision.allowed:
                    self._tats[key] = decision.tat
                decisions.append(decision)
            if len(self._tats) > 100_000:  # forget keys that have fully recovered
                self._tats = {k: v for k, v in self._tats.items() if v > now}
            return decisions

    def clear(self) -> None:
        with self._lock:
            self._tats.clear()


class RedisStore:
    """Limits shared by every process: one atomic Lua script per request,
    whatever the number of limits it counts against."""

    def __init__(self) -> None:
        self._script: Any = None

    def _client(self) -> Any:
        from django_redis import get_redis_connection

        return get_redis_connection("default")

    def check_many(self, checks: Sequence[tuple[str, Rate]]) -> list[Decision]:
        client = self._client()
        if self._script is None:
            self._script = client.register_script(_GCRA_LUA)
        keys = [f"stockroom:{KEY_PREFIX}:{key}" for key, _ in checks]
        args = [n for _, rate in checks for n in (rate.limit, rate.interval_us)]
        out = self._with_riders(client, keys, args)
        if out is None:
            out = self._script(keys=keys, args=args, client=client)
        return [
            Decision(bool(allowed), rate.limit, int(remaining), reset_us / MICROS, retry_us / MICROS, 0)
            for (_, rate), (allowed, remaining, reset_us, retry_us) in zip(
                checks, zip(*[iter(out)] * 4, strict=True), strict=True
            )
        ]

    def _with_riders(self, client: Any, keys: list[str], args: list[int]) -> list[Any] | None:
        """The script's answer, with the request's riders in the same round trip
        (config.platform.redis_pipeline: the read cache's lookup of a product
        page); None when there are none, or Redis did not know the script yet
        (it is then run by itself, which loads it)."""
        riders = redis_pipeline.take_riders()
        if not riders:
            return None
        answer: list[Any] = []

        def limits(pipeline: Any) -> redis_pipeline.Done:
            pipeline.evalsha(self._script.sha, len(keys), *keys, *args)
            return lambda answers: answer.append(redis_pipeline.only_answer(answers))

        redis_pipeline.send([limits, *riders], client)
        (out,) = answer
        if isinstance(out, NoScriptError):
            return None
        if isinstance(out, Exception):
            raise out
        return cast(list[Any], out)

    def clear(self) -> None:
        client = self._client()
        for key in client.scan_iter(match=f"stockroom:{KEY_PREFIX}:*", count=1000):
            client.delete(key)


_local = LocalStore()
_redis = RedisStore()
failures = 0  # Redis errors the limiter has failed open on, in this process


def store() -> LocalStore | RedisStore:
    return _redis if settings.REDIS_URL else _local


def limiter_check_many(checks: Sequence[tuple[str, Rate]]) -> list[Decision | None]:
    """The decisions for one request counted against several limits, in one
    round trip to the store; all None when the store failed (fail open)."""
    global failures
    if not checks:
        return []
    if settings.REDIS_URL and not breaker.available():
        failures += 1
        metrics.LIMITER_FAILURES.inc()  # Redis failed moments ago: don't wait on it again yet
        return [None] * len(checks)
    try:
        return list(store().check_many(checks))
    except Exception as exc:  # Redis down, hung (socket timeout) or refusing
        failures += 1
        metrics.LIMITER_FAILURES.inc()
        breaker.trip()
        logger.warning("rate limiter unavailable, serving the request unlimited: %s", exc)
        return [None] * len(checks)


# --- Client identity ---------------------------------------------------------------


def _trusted(address: str) -> bool:
    return address_in(address, settings.TRUSTED_PROXIES)


def client_ip(request: HttpRequest | Request) -> str:
    """The client's address: ``REMOTE_ADDR``, unless that is one of our
    ``TRUSTED_PROXIES`` — then the nearest address in ``X-Forwarded-For``
    that is not ours. A client cannot spoof its way around the limit."""
    remote = request.META.get("REMOTE_ADDR", "")
    if not _trusted(remote):
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return remote
    return remote


def address_key(address: str) -> str:
    """The client as rate limits count it: an IPv4 address as it is, an IPv6
    address as its /64 (one subscriber usually holds a whole /64, and could
    otherwise take a fresh address for every request), an IPv4-mapped IPv6
    address (``::ffff:192.0.2.1``, from a dual-stack socket) as the IPv4
    address. Anything that is not an address is kept as it is."""
    if ":" not in address:  # IPv4 (or no address at all): the common case, not parsed
        return address
    return _ipv6_key(address)


@functools.lru_cache(maxsize=4096)
def _ipv6_key(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def client_key(request: HttpRequest | Request) -> str:
    """Who a per-client limit counts a request against: :func:`address_key`
    of :func:`client_ip` (which stays the address logs show)."""
    return address_key(client_ip(request))


# --- DRF throttles -----------------------------------------------------------------


class _GcraThrottle(BaseThrottle):
    """A DRF throttle backed by :func:`limiter_check_many`. Subclasses name the
    scope, the setting holding the rate, and whose requests share a key.

    The first of a view's throttles to be asked decides for all of them, in
    one round trip (placing an order counts against two limits); the others
    read their decision from the request."""

    scope: str = ""
    rate_setting: str = ""

    def key(self, request: Request, view: Any) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        decisions: dict[str, Decision | None] | None = getattr(request, "_gcra_decisions", None)
        if decisions is None or self.scope not in decisions:
            decisions = request._gcra_decisions = _decide(request, view, self)  # type: ignore[attr-defined]
        decision = decisions.get(self.scope)
        if decision is None:
            return True
        self.decision = decision
        _remember(request, decision)
        if not decision.allowed:
            metrics.RATE_LIMITED.labels(self.scope).inc()
        return decision.allowed

    def wait(self) -> float | None:
        return math.ceil(self.decision.retry_after) if hasattr(self, "decision") else None


def _decide(request: Request, view: Any, asking: _GcraThrottle) -> dict[str, Decision | None]:
    """Every GCRA throttle of ``view`` (and ``asking``), decided at once for
    this request: scope → decision (None: not counted, or the store failed)."""
    throttles = [t for t in view.get_throttles() if isinstance(t, _GcraThrottle)]
    if all(t.scope != asking.scope for t in throttles):
        throttles.append(asking)
    decisions: dict[str, Decision | None] = {t.scope: None for t in throttles}
    counted = []
    for throttle in throttles:
        if (key := throttle.key(request, view)) is not None:
            counted.append(
                (throttle.scope, f"{throttle.scope}:{key}", parse_rate(getattr(settings, throttle.rate_setting)))
            )
    for (scope, _, _), decision in zip(
        counted, limiter_check_many([(key, rate) for _, key, rate in counted]), strict=True
    ):
        decisions[scope] = decision
    return decisions


class AnonThrottle(_GcraThrottle):
    """Anonymous requests, per client (:func:`client_key`; ``RATE_LIMIT_ANON``)."""

    scope, rate_setting = "anon", "RATE_LIMIT_ANON"

    def key(self, request: Request, view: Any) -> str | None:
        return None if request.user and request.user.is_authenticated else client_key(request)


class UserThrottle(_GcraThrottle):
    """Signed-in requests, per user (``RATE_LIMIT_USER``)."""

    scope, rate_setting = "user", "RATE_LIMIT_USER"

    def key(self, request: Request, view: Any) -> str | None:
        return str(request.user.pk) if request.user and request.user.is_authenticated else None


class AuthThrottle(_GcraThrottle):
    """Register and token together, per client (:func:`client_key`; ``RATE_LIMIT_AUTH``)."""

    scope, rate_setting = "auth", "RATE_LIMIT_AUTH"

    def key(self, request: Request, view: Any) -> str | None:
        return client_key(request)


class OrderCreateThrottle(_GcraThrottle):
    """Order creation, per user (``RATE_LIMIT_ORDERS``)."""

    scope, rate_setting = "orders", "RATE_LIMIT_ORDERS"

    def key(self, request: Request, view: Any) -> str | None:
        if request.method != "POST" or not (request.user and request.user.is_authenticated):
            return None
        return str(request.user.pk)


# --- Response headers --------------------------------------------------------------


def _remember(request: Request, decision: Decision) -> None:
    """Keep the tightest decision of this request for its response headers."""
    django_request = request._request
    previous: Decision | None = getattr(django_request, "ratelimit", None)
    if previous is None or (decision.remaining, -decision.retry_after) < (previous.remaining, -previous.retry_after):
        django_request.ratelimit = decision  # type: ignore[attr-defined]


class RateLimitHeadersMiddleware:
    """Adds ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` (seconds until
    the limit is fully available again) to every rate-limited response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        decision: Decision | None = getattr(request, "ratelimit", None)
        if decision is not None:
            response["X-RateLimit-Limit"] = str(decision.limit)
            response["X-RateLimit-Remaining"] = str(decision.remaining)
            response["X-RateLimit-Reset"] = str(math.ceil(decision.reset_after))
            if not decision.allowed:
                response["Retry-After"] = str(max(1, math.ceil(decision.retry_after)))
        return response
