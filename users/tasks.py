"""Celery tasks of the email outbox: fetch by id, call the service."""

import logging

from celery import shared_task

from users.outbox import DRAIN_LIMIT, outbox_deliver, outbox_drain, outbox_due

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def outbox_deliver_task(email_id: int) -> str:
    """Deliver one outbox email. Safe to run twice: the second run finds it sent."""
    return outbox_deliver(email_id=email_id).value


@shared_task(acks_late=True, ignore_result=True)
def outbox_drain_task() -> int:
    """Deliver every email never tried (published once for many emails, see
    users.outbox.outbox_announce). Safe to run twice, or side by side. If it
    stopped at its limit, it queues itself again for the rest."""
    from config.background import publish

    taken = outbox_drain()
    if taken >= DRAIN_LIMIT:
        publish(outbox_drain_task)  # if the broker refuses, the dispatcher finds the rest when due
    return taken


@shared_task(ignore_result=True)
def outbox_dispatch_task() -> int:
    """Publish every outbox email whose next attempt is due (Celery beat, every
    ``OUTBOX_DISPATCH_SECONDS``)."""
    ids = outbox_due()
    for email_id in ids:
        try:
            outbox_deliver_task.apply_async((email_id,), retry=False)
        except Exception:  # the broker went away mid-way: the rows are due again later
            logger.exception("could not publish outbox email %s", email_id)
            break
    return len(ids)
