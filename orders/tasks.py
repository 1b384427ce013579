"""Periodic tasks of the orders app (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from orders.idempotency import idempotency_purge
from orders.services import orders_expire_due


@shared_task(ignore_result=True)
def idempotency_keys_purge_task() -> int:
    """Delete Idempotency-Keys older than 24 hours."""
    return idempotency_purge()


@shared_task(ignore_result=True)
def orders_expire_due_task() -> int:
    """Expire the unpaid orders whose time to pay has run out (``ORDER_PAYMENT_MINUTES``)."""
    return orders_expire_due()
