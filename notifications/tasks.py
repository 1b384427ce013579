"""Celery tasks of the email outbox and the webhooks: fetch by id, call the service."""

import logging
from collections.abc import Sequence
from typing import Any

from celery import shared_task

from notifications.services import (
    DRAIN_LIMIT,
    outbox_deliver,
    outbox_drain,
    outbox_due,
    outbox_purge_sent,
    outbox_revive,
)

logger = logging.getLogger(__name__)


def _publish_due(task: Any, due: Sequence[tuple[int, ...]]) -> None:
    """Publish ``task`` for each row a dispatcher found due (its arguments,
    its id first). If the broker goes away mid-way, the rest are due again
    later: stop there."""
    for args in due:
        try:
            task.apply_async(args, retry=False)
        except Exception:
            logger.exception("could not publish %s for row %s", task.name, args[0])
            break


@shared_task(acks_late=True, ignore_result=True)
def outbox_deliver_task(email_id: int, attempts: int | None = None) -> str:
    """Deliver one outbox email, asked for when it had ``attempts`` attempts
    (None: whatever it has). Safe to run twice: the second run finds it sent,
    or tried since, and does nothing."""
    return outbox_deliver(email_id=email_id, attempts=attempts).value


@shared_task(acks_late=True, ignore_result=True)
def outbox_drain_task() -> int:
    """Deliver every email never tried (published once for many emails, see
    notifications.services.outbox_announce). Safe to run twice, or side by side. If it
    stopped at its limit, it queues itself again for the rest."""
    from config.platform.background import publish

    taken = outbox_drain()
    if taken >= DRAIN_LIMIT:
        publish(outbox_drain_task)  # if the broker refuses, the dispatcher finds the rest when due
    return taken


@shared_task(ignore_result=True)
def outbox_dispatch_task() -> int:
    """Publish every outbox email whose next attempt is due (Celery beat, every
    ``OUTBOX_DISPATCH_SECONDS``)."""
    due = outbox_due()
    _publish_due(outbox_deliver_task, due)
    return len(due)


@shared_task(ignore_result=True)
def outbox_revive_task() -> int:
    """While emails wait for an unreachable mail server, check it, and when it
    answers, publish them all now (Celery beat, every ``OUTBOX_REVIVE_SECONDS``)."""
    woken = outbox_revive()
    if woken:
        outbox_dispatch_task()
    return woken


@shared_task(ignore_result=True)
def outbox_purge_sent_task() -> int:
    """Delete emails sent more than ``OUTBOX_KEEP_SENT_DAYS`` ago (Celery beat, daily)."""
    from datetime import timedelta

    from django.conf import settings

    return outbox_purge_sent(older_than=timedelta(days=settings.OUTBOX_KEEP_SENT_DAYS))


# --- Webhooks (their own queue: settings.CELERY_TASK_ROUTES) -----------------------


@shared_task(acks_late=True, ignore_result=True)
def webhook_deliver_task(delivery_id: int) -> str:
    """Make one attempt of a webhook delivery. Safe to run twice: the second
    finds it delivered, or leased by its twin, and sends nothing."""
    from notifications.webhooks import webhook_deliver

    outcome = webhook_deliver(delivery_id=delivery_id)
    return "skipped" if outcome is None else outcome.value


@shared_task(ignore_result=True)
def webhooks_dispatch_task() -> int:
    """Publish every webhook delivery whose next attempt is due, and set
    inactive the endpoints failing for too long (Celery beat, every
    ``WEBHOOK_DISPATCH_SECONDS``)."""
    from notifications.webhooks import webhook_endpoints_disable_failing, webhooks_due

    webhook_endpoints_disable_failing()
    due = webhooks_due()
    _publish_due(webhook_deliver_task, [(delivery_id,) for delivery_id in due])
    return len(due)


@shared_task(ignore_result=True)
def webhooks_purge_task() -> int:
    """Delete webhook deliveries and events older than ``WEBHOOK_KEEP_DAYS`` (Celery beat, daily)."""
    from datetime import timedelta

    from django.conf import settings

    from notifications.webhooks import webhooks_purge

    return webhooks_purge(older_than=timedelta(days=settings.WEBHOOK_KEEP_DAYS))
