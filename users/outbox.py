"""The transactional email outbox: enqueue in the caller's transaction,
deliver exactly once from a worker, re-dispatch what is still pending.

Nothing here sends mail inside a web request: :func:`outbox_enqueue` writes a
row and, after commit, asks Celery to deliver it (:func:`outbox_announce`).
"""

import logging
from datetime import datetime, timedelta
from enum import Enum
from random import Random
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from config.bulk import Writes
from users.domain.backoff import retry_delay
from users.models import OutboxEmail

logger = logging.getLogger(__name__)
_rng = Random()


class Delivery(Enum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    SKIPPED = "skipped"  # already sent or failed, or another worker holds it


def outbox_enqueue(
    *,
    kind: str,
    to: str,
    subject: str,
    text: str = "",
    html: str = "",
    template: str = "",
    context: dict[str, Any] | None = None,
    writes: Writes | None = None,
) -> OutboxEmail:
    """Write an email to the outbox and publish its delivery after commit.

    The body is ``text`` (and ``html``), or the templates ``<template>.txt``
    and ``<template>.html`` rendered with ``context`` (JSON values) when the
    email is delivered. The caller holds the transaction: if it rolls back,
    no email exists. Given the caller's ``writes``, the row is written when
    the caller flushes them (and its key is set then).
    """
    if bool(text) == bool(template):
        raise ValueError("an email needs a text body or a template, not both")
    gathered = writes or Writes()
    (email,) = gathered.insert(
        [
            OutboxEmail(
                kind=kind,
                to=to,
                subject=subject,
                body_text=text,
                body_html=html,
                template=template,
                context=context,
                next_attempt_at=timezone.now() + timedelta(seconds=settings.OUTBOX_REDISPATCH_SECONDS),
            )
        ]
    )
    gathered.then(lambda: _announce_on_commit(email.id))
    if writes is None:
        gathered.flush()
    return email


# Set (if absent) while a drain is queued and has not started; it lapses on
# its own if the drain is lost.
WAKE_KEY = "outbox:drain-queued"
WAKE_SECONDS = 10


def _drains() -> bool:
    """Whether emails are announced by drains (Redis and a broker)."""
    from config.celery import app

    return bool(settings.REDIS_URL) and not app.conf.task_always_eager


def _announce_on_commit(email_id: int) -> None:
    from config import cache as read_cache

    if _drains():  # the flag is set in the commit's one call to Redis (the read cache's version bump)
        read_cache.add_on_commit(WAKE_KEY, WAKE_SECONDS, then=lambda first: outbox_announce(email_id, first))
    else:
        transaction.on_commit(lambda: outbox_announce(email_id, None))


def outbox_announce(email_id: int, first: bool | None) -> None:
    """After commit: have a worker deliver the email, now.

    With Redis and a broker, many emails share one message: a flag in Redis
    says a drain (:func:`outbox_drain`) is queued and has not started. The
    email that sets it (``first``) publishes the drain; the ones after it
    publish nothing — the drain clears the flag before it looks for emails,
    so it finds every email committed before that, and the first one after
    publishes the next drain. One message to the broker per drain instead of
    one per email: publishing was an eighth of placing an order. The flag
    is set after commit in the same call to Redis as the read cache's
    version bump (``config.cache.add_on_commit``). Without Redis (``first``
    None: it failed, or there is none), and with tasks run eagerly, each
    email is published by itself (:func:`outbox_deliver`). For an email
    whose transaction rolled back (``add_on_commit`` may still call this)
    either is harmless: a drain that finds nothing, a delivery that skips.
    """
    from config.background import publish
    from users.tasks import outbox_deliver_task, outbox_drain_task

    if first is not None:
        if first and not publish(outbox_drain_task):
            _forget_wake()  # nothing is queued: the next email must publish again
        return
    publish(outbox_deliver_task, email_id)


def _forget_wake() -> None:
    try:
        cache.delete(WAKE_KEY)
    except Exception:  # it lapses after WAKE_SECONDS; the dispatcher covers the gap
        logger.warning("could not clear the outbox drain flag", exc_info=True)


DRAIN_LIMIT = 500  # emails a drain takes before it queues itself again (users.tasks)


def outbox_drain(*, limit: int = DRAIN_LIMIT, failures: int = 3) -> int:
    """Deliver the emails never tried, oldest first, until none is left,
    ``limit`` were taken, or ``failures`` failed in a row (the mail server
    is down: the rest wait for the dispatcher, as a failed one waits for its
    retry time); returns how many were taken. Drains running side by side
    share the work: each email is taken under ``SKIP LOCKED``."""
    _forget_wake()  # before looking: an email committed from now on queues another drain
    taken = failed = 0
    while taken < limit and failed < failures:
        delivery = outbox_deliver_next()
        if delivery is None:
            break
        taken += 1
        failed = 0 if delivery is Delivery.SENT else failed + 1
    return taken


def outbox_deliver_next() -> Delivery | None:
    """Deliver the oldest email never tried that no other worker holds, as
    :func:`outbox_deliver`; None when there is none."""
    with transaction.atomic():
        email = (
            OutboxEmail.objects.select_for_update(skip_locked=True)
            .filter(status=OutboxEmail.Status.PENDING, attempts=0)
            .order_by("id")
            .first()
        )
        return None if email is None else _deliver_locked(email)


def outbox_deliver(*, email_id: int) -> Delivery:
    """Send one pending email, at most once.

    Holds the row lock (``FOR UPDATE SKIP LOCKED``) while sending and marks it
    sent in the same transaction, so a redelivered or duplicated task finds it
    sent, or locked by its twin, and does nothing. A failure is recorded on
    the row with the next attempt time (exponential backoff with jitter);
    after ``OUTBOX_MAX_ATTEMPTS`` the row is marked failed for staff to see.
    """
    with transaction.atomic():
        email = (
            OutboxEmail.objects.select_for_update(skip_locked=True)
            .filter(id=email_id, status=OutboxEmail.Status.PENDING)
            .first()
        )
        return Delivery.SKIPPED if email is None else _deliver_locked(email)


def _deliver_locked(email: OutboxEmail) -> Delivery:
    """Send ``email``, locked by the caller's transaction, and record how it went."""
    email.attempts += 1
    try:
        _send(email)
    except Exception as exc:  # SMTP refusals, timeouts, connection errors
        email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if email.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            email.status = OutboxEmail.Status.FAILED
            logger.error("outbox email %s failed for good after %s attempts: %s", email.id, email.attempts, exc)
        else:
            delay = retry_delay(
                email.attempts, base=settings.OUTBOX_RETRY_BASE_SECONDS, cap=settings.OUTBOX_RETRY_CAP_SECONDS,
                rng=_rng,
            )  # fmt: skip
            email.next_attempt_at = timezone.now() + timedelta(seconds=delay)
            logger.warning(
                "outbox email %s attempt %s failed, retry in %.0fs: %s", email.id, email.attempts, delay, exc
            )
        email.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
        return Delivery.FAILED if email.status == OutboxEmail.Status.FAILED else Delivery.RETRY
    email.status = OutboxEmail.Status.SENT
    email.sent_at = timezone.now()
    email.last_error = ""
    email.save(update_fields=["attempts", "last_error", "status", "sent_at", "body_text", "body_html"])
    return Delivery.SENT


def outbox_render(email: OutboxEmail) -> None:
    """Fill in the bodies of an email queued with a template, once: an email
    queued with its bodies, or already rendered (sent, or shown in the
    admin), keeps the ones it has."""
    if email.template and not email.body_text:
        email.body_text = render_to_string(f"{email.template}.txt", email.context)
        email.body_html = render_to_string(f"{email.template}.html", email.context)


def _send(email: OutboxEmail) -> None:
    outbox_render(email)
    message = EmailMultiAlternatives(
        subject=email.subject, body=email.body_text, to=[email.to], connection=get_connection(fail_silently=False)
    )
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    message.send(fail_silently=False)


def outbox_due(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Claim pending emails whose next attempt is due: push their next attempt
    a little ahead (so a lost task is published again later) and return their
    ids for the caller to publish."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            OutboxEmail.objects.select_for_update(skip_locked=True)
            .filter(status=OutboxEmail.Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        OutboxEmail.objects.filter(id__in=ids).update(
            next_attempt_at=now + timedelta(seconds=settings.OUTBOX_REDISPATCH_SECONDS)
        )
    return ids


def outbox_retry_now(*, email_ids: list[int]) -> int:
    """Staff: make failed or pending emails due again now, with fresh attempts."""
    return (
        OutboxEmail.objects.filter(id__in=email_ids)
        .exclude(status=OutboxEmail.Status.SENT)
        .update(status=OutboxEmail.Status.PENDING, attempts=0, next_attempt_at=timezone.now())
    )
