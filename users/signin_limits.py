"""Failed sign-ins to the admin, counted in the shared cache.

The rule is :mod:`users.domain.signin`; this module keeps its counts and
locks in Django's cache — Redis when ``REDIS_URL`` is set, so every server
process sees the same ones (django-redis's ``incr`` is atomic) — and logs and
counts every refusal. Used by the admin's login form only: the API's token
endpoint has its per-address rate limit and no lockout.

One attempt, in order:

1. :func:`signin_attempt_begin` reads the two locks (the account from this
   address, this address). Locked: refused, and the password is never
   checked — a locked attempt costs no Argon2 hash.
2. Otherwise it counts the attempt in both counters *before* the password
   is checked, so a burst of requests sent side by side cannot each get a
   guess in before the first failure is written; one numbered beyond a
   limit is refused unchecked (and locks its scope).
3. The form checks the password, then :func:`signin_attempt_failed` locks
   each scope whose count reached its limit, or :func:`signin_attempt_succeeded`
   gives the attempt back: the account's count from this address is cleared
   (whoever is there knows the password), the address's goes down by one.

A counter lives as long as the lockout and starts again with each attempt,
so any ``limit`` failures that come less than a lockout apart lock, however
the window is placed; a count is forgotten after a lockout with no attempt.

If the cache fails (Redis down or hung), the sign-in fails open: it is still
checked by password, only not limited, and the failure is logged and counted
in ``stockroom_rate_limiter_failures_total``. Refusing every sign-in instead
would lock the staff out of the admin exactly while they may need it most,
and each guess still costs the attacker a full Argon2 hash.
"""

import hashlib
import logging
import time
from dataclasses import dataclass, replace

from django.conf import settings
from django.core import checks
from django.core.cache import cache
from django.http import HttpRequest

from config.platform import breaker, metrics
from users.domain.signin import (
    ALLOWED,
    Scope,
    SigninLimits,
    Verdict,
    scopes_to_lock,
    verdict_after_failure,
    verdict_for_attempt,
    verdict_from_locks,
)
from users.models import normalize_email

logger = logging.getLogger(__name__)

PREFIX = "admin-signin"


def signin_limits() -> SigninLimits:
    return SigninLimits(
        per_account=settings.ADMIN_LOGIN_FAILURES_PER_ACCOUNT,
        per_ip=settings.ADMIN_LOGIN_FAILURES_PER_IP,
        lockout_seconds=settings.ADMIN_LOGIN_LOCKOUT_MINUTES * 60,
    )


@checks.register(checks.Tags.security)
def check_signin_limits(**kwargs: object) -> list[checks.CheckMessage]:
    """Limits that make no sense are reported by ``manage.py check`` (and
    ``migrate``, ``runserver``), not found by the first sign-in."""
    try:
        signin_limits()
    except ValueError as exc:
        return [checks.Error(str(exc), hint="Set ADMIN_LOGIN_* to positive numbers.", id="users.E001")]
    return []


@dataclass(frozen=True, slots=True)
class Attempt:
    """One sign-in in progress: who, from where, and where its counts live."""

    account: str  # the login as typed, normalised; for the log
    ip: str  # the client's address; for the log
    keys: dict[Scope, str]  # counter key by scope; its lock's key is the same plus ":lock"
    counts: dict[Scope, int]  # the counts including this attempt; empty when not counted


def _attempt(*, account: str, request: HttpRequest) -> Attempt:
    # Imported here: config.platform.ratelimit imported first, while the admin is being
    # discovered, would import DRF's views, which import it back half-made.
    from config.platform.ratelimit import address_key, client_ip

    # The client as the API's rate limits count it: TRUSTED_PROXIES honoured,
    # an IPv6 client by its /64 (it could take a fresh address for every guess).
    ip = client_ip(request)
    login, where = normalize_email(account), address_key(ip)
    # Hashed: the key stays short and no email sits in Redis in the clear.
    who = hashlib.sha256(login.encode()).hexdigest()[:32]
    keys = {Scope.ACCOUNT: f"{PREFIX}:account:{where}:{who}", Scope.IP: f"{PREFIX}:ip:{where}"}
    return Attempt(account=login, ip=ip, keys=keys, counts={})


def _lock_key(counter_key: str) -> str:
    return f"{counter_key}:lock"


def _unlimited(exc: Exception | None) -> None:
    """The cache failed now (``exc``), or moments ago (None: it is not asked
    again until config.platform.breaker's pause is over): the sign-in goes on unlimited."""
    metrics.LIMITER_FAILURES.inc()
    if exc is not None:
        breaker.trip()
    logger.warning(
        "admin sign-in limits unavailable, checking the password unlimited: %s", exc or "Redis failed moments ago"
    )


def _count(key: str, window: float) -> int:
    """Add one to ``key``, which lives ``window`` seconds from now."""
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # it expired between the add and the incr
        cache.add(key, 0, timeout=window)
        count = cache.incr(key)
    cache.touch(key, timeout=window)
    return int(count)


def _lock(attempt: Attempt, counts: dict[Scope, int], limits: SigninLimits) -> None:
    """Lock each scope whose count reached its limit, for the lockout from now,
    unless it is locked already (``add``: a burst does not push the end further)."""
    until = time.time() + limits.lockout_seconds
    for scope in scopes_to_lock(account_attempts=counts[Scope.ACCOUNT], ip_attempts=counts[Scope.IP], limits=limits):
        cache.add(_lock_key(attempt.keys[scope]), until, timeout=limits.lockout_seconds)


def _refused(attempt: Attempt, verdict: Verdict) -> Verdict:
    metrics.ADMIN_LOGIN_FAILURES.labels("locked").inc()
    logger.warning(
        "admin sign-in refused unchecked (locked by the %s limit, %.0fs left) for account %r from %s",
        verdict.scope,
        verdict.seconds_left,
        attempt.account,
        attempt.ip,
    )
    return verdict


def signin_attempt_begin(*, account: str, request: HttpRequest) -> tuple[Attempt, Verdict]:
    """Decide whether this sign-in may check its password, and count it."""
    attempt = _attempt(account=account, request=request)
    if settings.REDIS_URL and not breaker.available():
        _unlimited(None)
        return attempt, ALLOWED
    limits = signin_limits()
    try:
        locks = cache.get_many([_lock_key(attempt.keys[Scope.ACCOUNT]), _lock_key(attempt.keys[Scope.IP])])
        locked = verdict_from_locks(
            account_until=locks.get(_lock_key(attempt.keys[Scope.ACCOUNT])),
            ip_until=locks.get(_lock_key(attempt.keys[Scope.IP])),
            now=time.time(),
        )
        if not locked.allowed:
            return attempt, _refused(attempt, locked)
        counts = {scope: _count(key, limits.lockout_seconds) for scope, key in attempt.keys.items()}
        over = verdict_for_attempt(account_attempts=counts[Scope.ACCOUNT], ip_attempts=counts[Scope.IP], limits=limits)
        if not over.allowed:
            _lock(attempt, counts, limits)
            return attempt, _refused(attempt, over)
    except Exception as exc:  # Redis down, hung (socket timeout) or refusing
        _unlimited(exc)
        return attempt, ALLOWED
    return replace(attempt, counts=counts), ALLOWED


def signin_attempt_failed(attempt: Attempt) -> Verdict:
    """The password (or the account) was wrong: log and count it, and lock each
    scope whose count reached its limit. Returns whether it is locked now."""
    metrics.ADMIN_LOGIN_FAILURES.labels("bad_credentials").inc()
    logger.warning("admin sign-in failed for account %r from %s", attempt.account, attempt.ip)
    if not attempt.counts:
        return ALLOWED  # not counted: the cache failed
    limits = signin_limits()
    try:
        _lock(attempt, attempt.counts, limits)
    except Exception as exc:  # Redis down, hung (socket timeout) or refusing
        _unlimited(exc)
        return ALLOWED
    return verdict_after_failure(
        account_attempts=attempt.counts[Scope.ACCOUNT], ip_attempts=attempt.counts[Scope.IP], limits=limits
    )


def signin_attempt_succeeded(attempt: Attempt) -> None:
    """The password was right: give the attempt back."""
    if not attempt.counts:
        return
    try:
        cache.delete(attempt.keys[Scope.ACCOUNT])
        cache.decr(attempt.keys[Scope.IP])
    except ValueError:
        pass  # the address's count expired meanwhile: nothing to give back
    except Exception as exc:
        _unlimited(exc)
