"""Signed webhooks: events written in the transaction of the change,
delivered at least once by the Celery workers, retried for days.

The outbox's promise, for HTTP receivers. :func:`webhook_emit` is called by
the app that made a change (orders, inventory), in its transaction: it asks
which active endpoints subscribe (one small indexed query, every time: an
endpoint created a moment ago in another process gets the next event; in the
caller's unit of work it rides the unit's statement, no round trip of its own), and
only when some do renders the event and writes it with one delivery row per
endpoint, gathered into one statement; after commit each delivery is
published to the webhook queue. Nothing is written or published for a change
with no subscriber, and nothing of a change that rolls back.

A delivery is claimed like an outbox email — a lease taken in a short
transaction of its own, then the POST outside any transaction, then the
outcome recorded — so a worker that dies mid-attempt delays it by the lease.
The dispatcher (Celery beat) publishes again what is due: a retry, or a
delivery whose publish the broker lost. An endpoint has at most
``WEBHOOK_MAX_IN_FLIGHT`` attempts at once: a slow receiver holds that
many workers for at most ``WEBHOOK_TIMEOUT_SECONDS`` each, and its other
deliveries wait their turn instead of taking every worker.

Every attempt sends the same event id and the same bytes (``WebhookEvent.body``),
signed afresh (notifications.domain.signing): with both secrets for 24 hours
after a rotation.
"""

import logging
import secrets as token_source
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from functools import cache
from random import Random
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from config.api.renderers import JSONRenderer
from config.api.representation import timestamp
from config.db import bulk
from config.domain_errors import Problem, ValidationFailed
from config.platform.background import publish
from notifications import webhook_http
from notifications.domain.backoff import retry_delay
from notifications.domain.signing import new_secret, signature_header
from notifications.domain.webhooks import (
    CURRENT_API_VERSION,
    PING,
    Outcome,
    failing_too_long,
    judge_attempt,
)
from notifications.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

logger = logging.getLogger(__name__)
_rng = Random()
_render = JSONRenderer().render

Render = Callable[[str], Sequence[dict[str, Any]]]
ROTATION_OVERLAP = timedelta(hours=24)
ENDPOINT_FIELDS = {"url", "events", "description", "is_active"}


class WebhookRejected(ValidationFailed):
    """An endpoint write broke a rule (a URL that may not be called, …)."""


# --- Events -------------------------------------------------------------------------


SUBSCRIBER_COLUMNS = ("id", "api_version", "events")


@cache
def _active_endpoints() -> QuerySet[WebhookEndpoint]:
    """Kept, so it is compiled once (config.db.bulk.read): building and
    compiling this queryset on every change cost more than running it — a
    fifth of placing an order."""
    return WebhookEndpoint.objects.filter(is_active=True).values(*SUBSCRIBER_COLUMNS)


def _by_version(endpoints: Sequence[dict[str, Any]], event_type: str) -> dict[str, list[int]]:
    """The endpoints subscribed to ``event_type``, by API version."""
    by_version: dict[str, list[int]] = {}
    for row in endpoints:
        if event_type in row["events"]:
            by_version.setdefault(row["api_version"], []).append(row["id"])
    return by_version


def new_event_id() -> str:
    return f"evt_{token_source.token_hex(12)}"


def _event(event_type: str, version: str, data: dict[str, Any], now: datetime) -> WebhookEvent:
    public_id = new_event_id()
    body = {"id": public_id, "type": event_type, "api_version": version, "created_at": timestamp(now), "data": data}
    return WebhookEvent(
        public_id=public_id, type=event_type, api_version=version, body=_render(body).decode(), created_at=now
    )


def webhook_emit(event_type: str, render: Render) -> None:
    """Write the events of a change for every endpoint that subscribes to
    ``event_type``, and publish their deliveries after commit.

    The active endpoints are read on every change, never cached: one
    indexed query, which in the caller's unit of work rides its statement
    (config.db.bulk.read). ``render(api_version)`` gives the ``data`` of each
    event (one event per item: a stock change may bring several products
    low), as the API shows it to staff once the change is written, in that
    version's shape; it is called only if an endpoint subscribes, once per
    version among them. Endpoints pinned to different versions get different
    events (each id names one body). The caller holds the transaction.
    """
    bulk.read(_active_endpoints(), lambda endpoints: _emit(event_type, render, _by_version(endpoints, event_type)))


def _emit(event_type: str, render: Render, by_version: dict[str, list[int]]) -> None:
    if not by_version:
        return
    now = timezone.now()
    events: list[WebhookEvent] = []
    deliveries: list[WebhookDelivery] = []
    for version, endpoint_ids in by_version.items():
        for data in render(version):
            event = _event(event_type, version, data, now)
            events.append(event)
            deliveries += [_delivery(endpoint_id, event, now) for endpoint_id in endpoint_ids]
    _write(events, deliveries)


def _delivery(endpoint_id: int, event: WebhookEvent, now: datetime) -> WebhookDelivery:
    # Due for the dispatcher a little later: if the publish after commit is
    # lost (the broker is down), the dispatcher publishes it then.
    return WebhookDelivery(
        endpoint_id=endpoint_id,
        event_id=event.public_id,
        event_type=event.type,
        created_at=now,
        next_attempt_at=now + timedelta(seconds=settings.WEBHOOK_REDISPATCH_SECONDS),
    )


def _write(events: Sequence[WebhookEvent], deliveries: Sequence[WebhookDelivery]) -> None:
    """Insert the events and their deliveries together (one statement on
    PostgreSQL), then publish the deliveries after commit."""
    with bulk.writes_gathered():
        bulk.insert(events)
        bulk.insert(deliveries)
        bulk.after_write(lambda: _publish_on_commit([d.id for d in deliveries]))


def _publish_on_commit(delivery_ids: list[int]) -> None:
    transaction.on_commit(lambda: _publish(delivery_ids))


def _publish(delivery_ids: Iterable[int]) -> None:
    from notifications.tasks import webhook_deliver_task

    for delivery_id in delivery_ids:
        if not publish(webhook_deliver_task, delivery_id):
            return  # the broker is down: the dispatcher publishes them when due


# --- Endpoints (staff) -------------------------------------------------------------


def _check_url(url: str) -> None:
    problem = webhook_http.registration_problem(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE_HOSTS)
    if problem is not None:
        raise WebhookRejected(Problem("url_not_allowed", problem, "url"))


@transaction.atomic
def endpoint_create(
    *, url: str, events: Sequence[str], description: str = "", is_active: bool = True
) -> WebhookEndpoint:
    """Register an endpoint, pinned to today's API version, with a new
    secret (returned on the instance: shown to staff this once)."""
    _check_url(url)
    return WebhookEndpoint.objects.create(
        url=url,
        events=list(dict.fromkeys(events)),
        description=description,
        is_active=is_active,
        api_version=CURRENT_API_VERSION,
        secret=new_secret(),
    )


@transaction.atomic
def endpoint_update(*, endpoint_id: int, **fields: Any) -> WebhookEndpoint:
    """Change any of url (checked again), events, description, is_active.
    Setting an endpoint inactive fails its pending deliveries; setting it
    active again starts its failure clock afresh."""
    if unknown := set(fields) - ENDPOINT_FIELDS:
        raise ValueError(f"cannot update {sorted(unknown)}")
    endpoint = WebhookEndpoint.objects.select_for_update().get(id=endpoint_id)
    if "url" in fields and fields["url"] != endpoint.url:
        _check_url(fields["url"])
    if "events" in fields:
        fields["events"] = list(dict.fromkeys(fields["events"]))
    was_active = endpoint.is_active
    for name, value in fields.items():
        setattr(endpoint, name, value)
    if endpoint.is_active and not was_active:
        endpoint.failing_since, endpoint.disabled_reason = None, ""
    endpoint.save()
    if was_active and not endpoint.is_active:
        _fail_pending(endpoint.id, "endpoint set inactive")
    return endpoint


@transaction.atomic
def endpoint_delete(*, endpoint_id: int) -> None:
    """Delete an endpoint; its deliveries, pending ones included, go with it.
    Locks the endpoint first, then its deliveries, as a worker does: a worker
    mid-attempt records its outcome before the delete, or on nothing after it.
    A change committing at that moment may still write a delivery to it (the
    foreign key is not enforced for this): the worker that claims it finds
    no endpoint and drops it."""
    if WebhookEndpoint.objects.select_for_update().filter(id=endpoint_id).exists():
        list(WebhookDelivery.objects.select_for_update().filter(endpoint_id=endpoint_id).values_list("id"))
        WebhookEndpoint.objects.filter(id=endpoint_id).delete()


@transaction.atomic
def endpoint_rotate_secret(*, endpoint_id: int) -> WebhookEndpoint:
    """A new secret (returned on the instance, shown this once); the old one
    keeps signing beside it for 24 hours, so receivers can switch."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(id=endpoint_id)
    endpoint.previous_secret, endpoint.secret = endpoint.secret, new_secret()
    endpoint.previous_secret_expires_at = timezone.now() + ROTATION_OVERLAP
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return endpoint


@transaction.atomic
def endpoint_ping(*, endpoint_id: int) -> WebhookDelivery:
    """Deliver a ``ping`` event to this endpoint alone (active or not: staff
    check the URL before switching it on)."""
    endpoint = WebhookEndpoint.objects.get(id=endpoint_id)
    now = timezone.now()
    event = _event(PING, endpoint.api_version, {"webhook_id": endpoint.id}, now)
    delivery = _delivery(endpoint.id, event, now)
    _write([event], [delivery])
    return delivery


@transaction.atomic
def delivery_redeliver(*, delivery_id: int) -> WebhookDelivery:
    """A new delivery of a delivery's event (same id, same body) to the same
    endpoint, listed beside the old one."""
    old = WebhookDelivery.objects.select_related("event").get(id=delivery_id)
    delivery = _delivery(old.endpoint_id, old.event, timezone.now())
    _write([], [delivery])
    return delivery


def _fail_pending(endpoint_id: int, reason: str) -> int:
    return WebhookDelivery.objects.filter(endpoint_id=endpoint_id, status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.FAILED, last_error=reason, next_attempt_at=None, leased_until=None
    )


# --- Delivery (workers) ------------------------------------------------------------


def _unleased(now: datetime) -> Q:
    return Q(leased_until__isnull=True) | Q(leased_until__lte=now)


def _claim(delivery_id: int, now: datetime) -> WebhookDelivery | None:
    """Lease a pending delivery no worker holds, in a short transaction of its
    own — unless its endpoint already has ``WEBHOOK_MAX_IN_FLIGHT`` attempts
    under way (then it waits a few seconds, and the dispatcher publishes it
    again). The endpoint row is locked first (``FOR NO KEY UPDATE``: new
    deliveries can still be written meanwhile), so two claims count its
    attempts in turn; every writer here locks an endpoint before its
    deliveries, so none waits on another in a cycle."""
    endpoint_id = WebhookDelivery.objects.filter(id=delivery_id).values_list("endpoint_id", flat=True).first()
    if endpoint_id is None:
        return None
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update(no_key=True).filter(id=endpoint_id).first()
        if endpoint is None:  # deleted while the change that wrote this delivery was committing
            WebhookDelivery.objects.filter(id=delivery_id).delete()
            return None
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("event")
            .filter(_unleased(now), id=delivery_id, status=WebhookDelivery.Status.PENDING)
            .first()
        )
        if delivery is None:
            return None
        # Active or not: new events go to active endpoints only, and setting one
        # inactive fails what it had pending; what is left is staff's ping or redelivery.
        in_flight = WebhookDelivery.objects.filter(endpoint_id=endpoint.id, leased_until__gt=now).count()
        if in_flight >= settings.WEBHOOK_MAX_IN_FLIGHT:
            delivery.next_attempt_at = now + timedelta(seconds=settings.WEBHOOK_BUSY_WAIT_SECONDS)
            delivery.save(update_fields=["next_attempt_at"])
            return None
        delivery.attempts = min(delivery.attempts + 1, 32_767)
        delivery.leased_until = delivery.next_attempt_at = now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
        delivery.save(update_fields=["attempts", "leased_until", "next_attempt_at"])
        delivery.endpoint = endpoint
    return delivery


def _signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    expires = endpoint.previous_secret_expires_at
    rotating = endpoint.previous_secret and expires is not None and now < expires
    return [endpoint.secret, endpoint.previous_secret] if rotating else [endpoint.secret]


def webhook_deliver(*, delivery_id: int) -> Outcome | None:
    """Make one attempt of a pending delivery, unless another worker holds it
    or its endpoint has enough under way (None: nothing was sent). Safe to run
    twice or side by side."""
    now = timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return None
    endpoint, body = delivery.endpoint, delivery.event.body.encode()
    headers = {
        "Content-Type": "application/json",
        "Stockroom-Event-Id": delivery.event_id,
        "Stockroom-Signature": signature_header(body, _signing_secrets(endpoint, now), int(now.timestamp())),
    }
    result = webhook_http.post(
        endpoint.url,
        body,
        headers,
        allow_private=settings.WEBHOOK_ALLOW_PRIVATE_HOSTS,
        timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
    )
    return _record(delivery, result)


def _record(delivery: WebhookDelivery, result: webhook_http.Outcome) -> Outcome:
    """Log the attempt and move the delivery on: succeeded, due again after a
    backoff with jitter, or failed once it has been retried long enough."""
    now = timezone.now()
    delay = retry_delay(
        delivery.attempts,
        base=settings.WEBHOOK_RETRY_BASE_SECONDS,
        cap=settings.WEBHOOK_RETRY_CAP_SECONDS,
        rng=_rng,
    )
    verdict = judge_attempt(
        ok=result.ok,
        created_at=delivery.created_at,
        now=now,
        retry_for=timedelta(hours=settings.WEBHOOK_RETRY_HOURS),
        delay_seconds=delay,
    )
    error = (result.error or ("" if result.ok else f"answered {result.status_code}"))[:500]
    with transaction.atomic():
        # The endpoint, then the delivery, locked as everywhere: a delete of the
        # endpoint waits for this record, or came first and left nothing to record.
        endpoint_there = WebhookEndpoint.objects.select_for_update(no_key=True).filter(id=delivery.endpoint_id)
        if (
            not endpoint_there.exists()
            or not WebhookDelivery.objects.select_for_update().filter(id=delivery.id).exists()
        ):
            logger.info("webhook delivery %s went with its endpoint mid-attempt", delivery.id)
            return verdict.outcome
        WebhookAttempt.objects.create(
            delivery_id=delivery.id,
            number=delivery.attempts,
            status_code=result.status_code,
            error=error,
            duration_ms=result.duration_ms,
            response_excerpt=result.response_excerpt[:1024],
        )
        WebhookDelivery.objects.filter(id=delivery.id, status=WebhookDelivery.Status.PENDING).update(
            status=WebhookDelivery.Status.PENDING if verdict.outcome is Outcome.RETRY else verdict.outcome.value,
            last_status_code=result.status_code,
            last_error=error,
            next_attempt_at=verdict.next_attempt_at,
            leased_until=None,
            delivered_at=now if verdict.outcome is Outcome.SUCCEEDED else None,
        )
        endpoints = WebhookEndpoint.objects.filter(id=delivery.endpoint_id)
        if result.ok:
            endpoints.exclude(failing_since=None).update(failing_since=None)
        else:
            endpoints.filter(failing_since=None).update(failing_since=now)
    log = logger.info if result.ok else logger.warning
    log(
        "webhook delivery %s (%s, attempt %s) to endpoint %s: %s",
        delivery.id, delivery.event_type, delivery.attempts, delivery.endpoint_id, error or result.status_code,
    )  # fmt: skip
    return verdict.outcome


def webhooks_due(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Claim the pending deliveries whose next attempt is due: push their next
    attempt a little ahead (a lost task is published again then) and return
    their ids for the caller to publish. One a worker holds is not due
    before its lease ends."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(_unleased(now), status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        WebhookDelivery.objects.filter(id__in=due).update(
            next_attempt_at=now + timedelta(seconds=settings.WEBHOOK_REDISPATCH_SECONDS)
        )
    return due


def webhook_endpoints_disable_failing(*, now: datetime | None = None) -> list[int]:
    """Set inactive every endpoint whose deliveries have all failed for
    ``WEBHOOK_DISABLE_AFTER_HOURS``, fail its pending deliveries, and email
    the staff; returns their ids. Its log stays."""
    from notifications.services import outbox_enqueue

    now = now or timezone.now()
    limit = timedelta(hours=settings.WEBHOOK_DISABLE_AFTER_HOURS)
    disabled = []
    with transaction.atomic():
        candidates = WebhookEndpoint.objects.select_for_update(skip_locked=True).filter(
            is_active=True, failing_since__lte=now - limit
        )
        for endpoint in candidates:
            if not failing_too_long(endpoint.failing_since, now, limit):
                continue
            endpoint.is_active = False
            endpoint.disabled_reason = f"every delivery failed since {timestamp(endpoint.failing_since)}"  # type: ignore[arg-type]
            endpoint.save(update_fields=["is_active", "disabled_reason", "updated_at"])
            _fail_pending(endpoint.id, "endpoint set inactive: failing for too long")
            disabled.append(endpoint)
        if disabled:
            for email in _staff_emails():
                outbox_enqueue(
                    kind="webhook_disabled",
                    to=email,
                    subject=f"Stockroom: {len(disabled)} webhook endpoint(s) set inactive",
                    template="notifications/webhook_disabled",
                    context={
                        "hours": settings.WEBHOOK_DISABLE_AFTER_HOURS,
                        "endpoints": [{"id": e.id, "url": e.url, "reason": e.disabled_reason} for e in disabled],
                    },
                )
    for endpoint in disabled:
        logger.error("webhook endpoint %s set inactive: %s", endpoint.id, endpoint.disabled_reason)
    return [endpoint.id for endpoint in disabled]


def _staff_emails() -> list[str]:
    users: QuerySet[Any] = get_user_model().objects.filter(is_staff=True, is_active=True).exclude(email="")
    return list(users.order_by("id").values_list("email", flat=True))


def webhooks_purge(*, older_than: timedelta, batch: int = 5_000) -> int:
    """Delete deliveries (with their attempts) and events created more than
    ``older_than`` ago, ``batch`` rows per statement; returns the deliveries
    deleted. An old event a recent redelivery still names is kept."""
    cutoff = timezone.now() - older_than
    deleted = 0
    old = WebhookDelivery.objects.filter(created_at__lt=cutoff)
    while ids := list(old.order_by("created_at").values_list("id", flat=True)[:batch]):
        _, by_model = WebhookDelivery.objects.filter(id__in=ids).delete()  # their attempts go with them
        deleted += by_model.get(WebhookDelivery._meta.label, 0)
    events = WebhookEvent.objects.filter(created_at__lt=cutoff, deliveries__isnull=True)
    while ids := list(events.order_by("created_at").values_list("id", flat=True)[:batch]):
        WebhookEvent.objects.filter(id__in=ids).delete()
    return deleted
