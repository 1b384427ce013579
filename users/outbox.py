"""The transactional email outbox: enqueue in the caller's transaction,
deliver exactly once from a worker, re-dispatch what is still pending.

Nothing here sends mail inside a web request: :func:`outbox_enqueue` writes a
row and asks Celery (after commit) to run :func:`outbox_deliver`.
"""

import logging
from datetime import datetime, timedelta
from enum import Enum
from random import Random
from typing import Any

from django.conf import settings
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
    from config.background import enqueue_on_commit
    from users.tasks import outbox_deliver_task

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
    gathered.then(lambda: enqueue_on_commit(outbox_deliver_task, email.id))
    if writes is None:
        gathered.flush()
    return email


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
        if email is None:
            return Delivery.SKIPPED
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
