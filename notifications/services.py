"""The transactional email outbox: enqueue in the caller's transaction,
deliver from a worker, re-dispatch what is still pending, never give up on
a mail server that is down.

Nothing here sends mail inside a web request: :func:`outbox_enqueue` writes a
row and, after commit, asks Celery to deliver it (:func:`outbox_announce`).

A delivery never holds a transaction or a row lock while it talks to the
mail server: the worker *claims* the row (a lease of ``OUTBOX_LEASE_SECONDS``
in a short transaction of its own), commits, sends, then records the outcome.
A worker that dies mid-send leaves the row leased; once the lease has passed
the dispatcher publishes it again. Every attempt carries the same
``Message-ID`` (:func:`outbox_message_id`): delivery is at least once, and the
only duplicate possible — a crash between the server's acceptance and the
record of it — is one that mail clients show once.

A failure is classified (notifications.domain.delivery): only a permanent refusal of
the recipient marks the email failed. Any other failure waits with backoff
per email (``OUTBOX_RETRY_BASE_SECONDS`` doubling up to
``OUTBOX_RETRY_CAP_SECONDS``), for as long as it takes; and an email that
waits because the mail server could not be reached is woken as soon as the
server answers again — by the first email sent after the failures, or by the
cheap check of the server that Celery beat runs every
``OUTBOX_REVIVE_SECONDS`` while such emails wait (:func:`outbox_revive`).
"""

import logging
from collections.abc import Sequence
from contextlib import suppress
from datetime import datetime, timedelta
from email.utils import parseaddr
from enum import Enum
from random import Random
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.mail import DNS_NAME, EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from config.db import bulk
from config.platform import breaker, redis_pipeline
from notifications.domain.backoff import retry_delay
from notifications.domain.delivery import Failure, FailureKind, classify_failure
from notifications.models import OutboxEmail

logger = logging.getLogger(__name__)
_rng = Random()


class Delivery(Enum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    SKIPPED = "skipped"  # already sent or failed, or another worker holds its lease


def outbox_enqueue(
    *,
    kind: str,
    to: str,
    subject: str,
    text: str = "",
    html: str = "",
    template: str = "",
    context: dict[str, Any] | None = None,
) -> OutboxEmail:
    """Write an email to the outbox and publish its delivery after commit.

    The body is ``text`` (and ``html``), or the templates ``<template>.txt``
    and ``<template>.html`` rendered with ``context`` (JSON values) when the
    email is delivered. The caller holds the transaction: if it rolls back,
    no email exists. In the caller's unit of work
    (:func:`config.db.bulk.writes_gathered`), the row is written with the
    unit's other writes (and its key is set then).
    """
    if bool(text) == bool(template):
        raise ValueError("an email needs a text body or a template, not both")
    (email,) = bulk.insert(
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
    bulk.after_write(lambda: _announce_on_commit(email.id))
    return email


# Set (if absent) while a drain is queued and has not started; it lapses on
# its own if the drain is lost.
DRAIN_FLAG = "outbox:drain-queued"
DRAIN_FLAG_SECONDS = 10


def _drains() -> bool:
    """Whether emails are announced by drains (Redis and a broker)."""
    from config.celery import app

    return bool(settings.REDIS_URL) and not app.conf.task_always_eager


def _announce_on_commit(email_id: int) -> None:
    if _drains():  # the flag goes with the other commands that follow the commit
        redis_pipeline.after_commit(lambda pipeline: _set_drain_flag(pipeline, email_id))
    else:
        transaction.on_commit(lambda: outbox_announce(email_id, None))


# A SET whose answer was lost (Redis hung, then came back) may have set the
# flag with no drain queued: the emails after it would publish nothing until it
# lapses. So after such a failure this process's next email takes the flag
# whatever is there, and queues a drain.
_flag_in_doubt = False


def _set_drain_flag(pipeline: Any, email_id: int) -> redis_pipeline.Done | None:
    """Set the drain flag if it is absent, then announce the email: as the one
    that set it, or one that found it there, or by itself if Redis could not
    be asked (it failed, now or moments ago)."""
    if not breaker.available():
        outbox_announce(email_id, None)
        return None
    taking = _flag_in_doubt
    pipeline.set(cache.make_key(DRAIN_FLAG), 1, nx=not taking, ex=DRAIN_FLAG_SECONDS)

    def done(answers: Sequence[Any] | Exception) -> None:
        global _flag_in_doubt
        answer = redis_pipeline.only_answer(answers)
        if isinstance(answer, Exception):
            _flag_in_doubt = True
            breaker.trip()
            logger.warning("could not set the outbox drain flag: publishing the email by itself (%s)", answer)
            outbox_announce(email_id, None)
        else:
            if taking:
                _flag_in_doubt = False
            outbox_announce(email_id, bool(answer))

    return done


def outbox_announce(email_id: int, first: bool | None) -> None:
    """After commit: have a worker deliver the email, now.

    With Redis and a broker, many emails share one message: a flag in Redis
    says a drain (:func:`outbox_drain`) is queued and has not started. The
    email that sets it (``first``) publishes the drain; the ones after it
    publish nothing — the drain clears the flag before it looks for emails,
    so it finds every email committed before that, and the first one after
    publishes the next drain. One message to the broker per drain instead of
    one per email: publishing was an eighth of placing an order. The flag
    is set after commit (:func:`_set_drain_flag`). Without Redis (``first``
    None: it failed, or there is none), and with tasks run eagerly, each
    email is published by itself (:func:`outbox_deliver`).
    """
    from config.platform.background import publish
    from notifications.tasks import outbox_deliver_task, outbox_drain_task

    if first is not None:
        if first and not publish(outbox_drain_task):
            _forget_drain_flag()  # nothing is queued: the next email must publish again
        return
    publish(outbox_deliver_task, email_id, 0)


def _forget_drain_flag() -> None:
    try:
        cache.delete(DRAIN_FLAG)
    except Exception:  # it lapses after DRAIN_FLAG_SECONDS; the dispatcher covers the gap
        logger.warning("could not clear the outbox drain flag", exc_info=True)


DRAIN_LIMIT = 500  # emails a drain takes before it queues itself again (users.tasks)
# attempts is a small integer column: an email tried hourly for years stops counting there.
MAX_ATTEMPTS_RECORDED = 32_767


def outbox_drain(*, limit: int = DRAIN_LIMIT, failures: int = 3) -> int:
    """Deliver the emails never tried, oldest first, until none is left,
    ``limit`` were taken, or ``failures`` failed in a row (the mail server
    is down: the rest wait for the dispatcher, as a failed one waits for its
    retry time); returns how many were taken. Drains running side by side
    share the work: each email is claimed under ``SKIP LOCKED``. One
    connection to the mail server serves the whole run."""
    _forget_drain_flag()  # before looking: an email committed from now on queues another drain
    taken = failed = 0
    with _Mailer() as mailer:
        while taken < limit and failed < failures:
            email = _claim(OutboxEmail.objects.filter(attempts=0).order_by("id"))
            if email is None:
                break
            taken += 1
            failed = 0 if _send_claimed(email, mailer) is Delivery.SENT else failed + 1
    return taken


def outbox_deliver(*, email_id: int, attempts: int | None = None) -> Delivery:
    """Send one pending email, unless another worker holds its lease.

    ``attempts``: the attempts the email had when this delivery was asked
    for (0 for a new email; the dispatcher's count for a due one). Safe to
    run twice, or side by side: a redelivered or duplicated task finds it
    sent, leased by its twin, or tried since (then it waits for its own
    retry time, not this stale ask), and does nothing. A failure is recorded
    on the row with its kind and reason and, unless the recipient was
    refused for good, the next attempt's time (exponential backoff with
    jitter).
    """
    asked = OutboxEmail.objects.filter(id=email_id)
    email = _claim(asked if attempts is None else asked.filter(attempts=attempts))
    if email is None:
        return Delivery.SKIPPED
    with _Mailer() as mailer:
        return _send_claimed(email, mailer)


def outbox_deliver_all() -> dict[Delivery, int]:
    """Deliver every pending email that no worker holds, now, in this
    process, over one connection, whatever its retry time (``send_outbox``)."""
    ids = list(
        OutboxEmail.objects.filter(status=OutboxEmail.Status.PENDING).order_by("id").values_list("id", flat=True)
    )
    results = dict.fromkeys(Delivery, 0)
    with _Mailer() as mailer:
        for email_id in ids:
            email = _claim(OutboxEmail.objects.filter(id=email_id))
            results[Delivery.SKIPPED if email is None else _send_claimed(email, mailer)] += 1
    return results


def _unleased(now: datetime) -> Q:
    """No worker holds it: never leased, or its lease has passed."""
    return Q(leased_until__isnull=True) | Q(leased_until__lte=now)


def _claim(candidates: "QuerySet[OutboxEmail]") -> OutboxEmail | None:
    """Lease the first pending email of ``candidates`` that no worker holds,
    in a transaction of its own, committed before anything is sent: the row
    lock lasts that long, not the conversation with the mail server. The
    lease also moves its next attempt to the lease's end, so the dispatcher
    leaves it alone until a worker that died with it would be overdue."""
    now = timezone.now()
    with transaction.atomic():
        email = (
            candidates.select_for_update(skip_locked=True)
            .filter(_unleased(now), status=OutboxEmail.Status.PENDING)
            .first()
        )
        if email is None:
            return None
        email.attempts = min(email.attempts + 1, MAX_ATTEMPTS_RECORDED)
        email.leased_until = email.next_attempt_at = now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
        email.save(update_fields=["attempts", "leased_until", "next_attempt_at"])
    return email


# A process that saw the mail server unreachable wakes the emails waiting
# for it when its next email goes out (the server is back).
_saw_unreachable = False


def _send_claimed(email: OutboxEmail, mailer: "_Mailer") -> Delivery:
    """Send an email this worker leased, and record how it went."""
    global _saw_unreachable
    waited_for_server = email.failure == OutboxEmail.Failure.UNREACHABLE
    try:
        mailer.send(outbox_message(email))
    except Exception as exc:  # SMTP answers, timeouts, connection errors, a template that fails
        failure = classify_failure(exc)
        _saw_unreachable = _saw_unreachable or failure.kind is FailureKind.UNREACHABLE
        return _record_failure(email, failure)
    OutboxEmail.objects.filter(id=email.id).update(
        status=OutboxEmail.Status.SENT,
        sent_at=timezone.now(),
        leased_until=None,
        failure="",
        last_error="",
        body_text=email.body_text,
        body_html=email.body_html,
    )
    if waited_for_server or _saw_unreachable:
        _saw_unreachable = False
        if woken := outbox_wake():
            logger.info("mail server answers again: %s waiting email(s) are due now", woken)
    return Delivery.SENT


def _record_failure(email: OutboxEmail, failure: Failure) -> Delivery:
    """The row waits for its next attempt, or is failed for good if the
    recipient was refused. A row another worker has meanwhile sent stays sent."""
    email.failure, email.last_error, email.leased_until = failure.kind.value, failure.reason, None
    if failure.permanent:
        email.status = OutboxEmail.Status.FAILED
        logger.error("outbox email %s failed for good (%s): %s", email.id, failure.kind.value, failure.reason)
    else:
        delay = retry_delay(
            email.attempts, base=settings.OUTBOX_RETRY_BASE_SECONDS, cap=settings.OUTBOX_RETRY_CAP_SECONDS, rng=_rng
        )
        email.next_attempt_at = timezone.now() + timedelta(seconds=delay)
        logger.warning(
            "outbox email %s attempt %s failed (%s), retry in %.0fs: %s",
            email.id, email.attempts, failure.kind.value, delay, failure.reason,
        )  # fmt: skip
    OutboxEmail.objects.filter(id=email.id, status=OutboxEmail.Status.PENDING).update(
        status=email.status,
        failure=email.failure,
        last_error=email.last_error,
        leased_until=None,
        next_attempt_at=email.next_attempt_at,
    )
    return Delivery.FAILED if failure.permanent else Delivery.RETRY


class _Mailer:
    """One connection to the mail server for a run of emails: opened when
    the first is sent, kept for the next, dropped after a failure (the next
    email opens a fresh one)."""

    def __init__(self) -> None:
        self._connection: Any = None

    def send(self, message: EmailMultiAlternatives) -> None:
        if self._connection is None:
            connection = get_connection(fail_silently=False)
            connection.open()  # opened here, it stays open between messages
            self._connection = connection
        message.connection = self._connection
        try:
            message.send(fail_silently=False)
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with suppress(Exception):  # a connection already broken is dropped all the same
                connection.close()

    def __enter__(self) -> "_Mailer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def outbox_message_id(email: OutboxEmail) -> str:
    """The email's ``Message-ID``: made of the row, so every attempt, from
    any worker, sends the same one, and mail clients show a duplicate once."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or str(DNS_NAME)
    return f"<{email.created_at:%Y%m%d%H%M%S.%f}.{email.id}@{domain}>"


def outbox_render(email: OutboxEmail) -> None:
    """Fill in the bodies of an email queued with a template, once: an email
    queued with its bodies, or already rendered (sent, or shown in the
    admin), keeps the ones it has."""
    if email.template and not email.body_text:
        email.body_text = render_to_string(f"{email.template}.txt", email.context)
        email.body_html = render_to_string(f"{email.template}.html", email.context)


def outbox_message(email: OutboxEmail) -> EmailMultiAlternatives:
    outbox_render(email)
    message = EmailMultiAlternatives(
        subject=email.subject, body=email.body_text, to=[email.to], headers={"Message-ID": outbox_message_id(email)}
    )
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    return message


def outbox_due(*, now: datetime | None = None, limit: int = 500) -> list[tuple[int, int]]:
    """Claim pending emails whose next attempt is due: push their next attempt
    a little ahead (so a lost task is published again later) and return
    their ids, each with its attempts so far, for the caller to publish
    (:func:`outbox_deliver` takes both). An email a worker holds is not due
    before its lease ends."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            OutboxEmail.objects.select_for_update(skip_locked=True)
            .filter(status=OutboxEmail.Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .values_list("id", "attempts")[:limit]
        )
        OutboxEmail.objects.filter(id__in=[email_id for email_id, _ in due]).update(
            next_attempt_at=now + timedelta(seconds=settings.OUTBOX_REDISPATCH_SECONDS)
        )
    return due


def _waiting_for_server(now: datetime) -> "QuerySet[OutboxEmail]":
    """Emails backing off after the mail server was unreachable. One the
    dispatcher published moments ago (its next attempt pushed no further
    than the re-dispatch window) is on its way already: waking it would only
    publish it again."""
    return OutboxEmail.objects.filter(
        status=OutboxEmail.Status.PENDING,
        failure=OutboxEmail.Failure.UNREACHABLE,
        leased_until__isnull=True,
        next_attempt_at__gt=now + timedelta(seconds=settings.OUTBOX_REDISPATCH_SECONDS),
    )


def outbox_wake(*, now: datetime | None = None) -> int:
    """Make every email that waits because the mail server was unreachable
    due now (the server answers again); returns how many."""
    now = now or timezone.now()
    return _waiting_for_server(now).update(next_attempt_at=now)


def outbox_revive(*, now: datetime | None = None) -> int:
    """While emails wait for an unreachable mail server, check whether it
    answers (connect, greet, NOOP: no message), and if it does, wake them
    all; returns how many were woken. One check, however many emails wait,
    and none while nothing waits (Celery beat runs this every
    ``OUTBOX_REVIVE_SECONDS``)."""
    now = now or timezone.now()
    if not _waiting_for_server(now).exists() or not mail_server_answers():
        return 0
    woken = outbox_wake(now=now)
    logger.info("mail server answers again: %s waiting email(s) are due now", woken)
    return woken


def mail_server_answers() -> bool:
    """Whether the mail server takes a connection and answers a NOOP."""
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
        smtp = getattr(connection, "connection", None)  # None for the console and memory backends
        return smtp is None or 200 <= smtp.noop()[0] < 400
    except Exception as exc:
        logger.info("mail server still unreachable: %s", classify_failure(exc).reason)
        return False
    finally:
        with suppress(Exception):
            connection.close()


def outbox_retry_now(*, email_ids: list[int]) -> int:
    """Staff: make failed or pending emails due again now, with fresh
    attempts. One a worker is sending right now is left to it."""
    now = timezone.now()
    return (
        OutboxEmail.objects.filter(_unleased(now), id__in=email_ids)
        .exclude(status=OutboxEmail.Status.SENT)
        .update(status=OutboxEmail.Status.PENDING, attempts=0, failure="", leased_until=None, next_attempt_at=now)
    )


def outbox_purge_sent(*, older_than: timedelta, batch: int = 5_000) -> int:
    """Delete emails sent more than ``older_than`` ago, ``batch`` rows per
    statement (no long lock on the table); returns how many. Failed and
    pending emails are kept."""
    cutoff = timezone.now() - older_than
    old = OutboxEmail.objects.filter(status=OutboxEmail.Status.SENT, sent_at__lt=cutoff)
    deleted = 0
    while ids := list(old.order_by("sent_at").values_list("id", flat=True)[:batch]):
        deleted += OutboxEmail.objects.filter(id__in=ids).delete()[0]
    return deleted
