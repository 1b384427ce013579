"""Idempotency keys for order creation, Stripe-style.

The same key from the same user within 24 hours replays the first response
and creates nothing; the same key with another body is refused. The key row
is written inside the caller's transaction, so the database's UNIQUE index
does the arbitration between concurrent twins, and a request that fails (a
crash, a rollback) leaves no row behind: its key is free again.
"""

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from config.domain_errors import Problem
from orders.errors import IdempotencyKeyInUse, IdempotencyKeyReused
from orders.models import IdempotencyKey
from users.models import User

KEY_TTL = timedelta(hours=24)
WAIT_FOR_TWIN_SECONDS = 5
LOCK_NOT_AVAILABLE = "55P03"


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: Any


def fingerprint(body: Any) -> str:
    """A stable digest of a request body (key order does not matter)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_claim(*, user: User, key: str, fingerprint: str) -> IdempotencyKey | StoredResponse:
    """Claim ``key`` for this request, or return the response to replay.

    The caller holds the transaction: the claim commits or rolls back with
    the work it guards. A twin still in flight makes this wait on the UNIQUE
    index (bounded by a lock timeout on PostgreSQL, then 409 in use).
    """
    assert transaction.get_connection().in_atomic_block, "the caller must hold a transaction"
    with _lock_timeout(WAIT_FOR_TWIN_SECONDS):
        for _ in range(2):
            try:
                with transaction.atomic():
                    return IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint)
            except IntegrityError:
                pass
            except OperationalError as exc:
                if getattr(exc.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE:
                    raise _in_use() from None
                raise
            existing = IdempotencyKey.objects.filter(user=user, key=key).first()
            if existing is None:
                continue  # purged between our insert and our read: claim it again
            if existing.created_at < timezone.now() - KEY_TTL:
                existing.delete()
                continue
            if existing.fingerprint != fingerprint:
                raise IdempotencyKeyReused(
                    Problem(
                        IdempotencyKeyReused.code, "This Idempotency-Key was used with a different request body.", None
                    )
                )
            if existing.response_status is None:
                raise _in_use()
            return StoredResponse(existing.response_status, existing.response_body)
    raise _in_use()


def _in_use() -> IdempotencyKeyInUse:
    return IdempotencyKeyInUse(
        Problem(IdempotencyKeyInUse.code, "A request with this Idempotency-Key is in progress; retry.", None)
    )


@contextmanager
def _lock_timeout(seconds: int) -> Iterator[None]:
    """Bound how long we wait for a twin's row lock (PostgreSQL), then restore
    the default for the rest of the transaction."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{int(seconds)}s'")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = DEFAULT")


def idempotency_complete(*, claim: IdempotencyKey, status: int, body: Any) -> None:
    """Store the response to replay. The caller holds the claim's transaction."""
    claim.response_status = status
    claim.response_body = body
    claim.save(update_fields=["response_status", "response_body"])


def idempotency_purge(*, now: Any = None) -> int:
    """Delete keys older than 24 hours; returns how many."""
    cutoff = (now or timezone.now()) - KEY_TTL
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
