"""Background email for orders: confirmation when placed, notice when cancelled."""

from typing import Literal

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from config.background import enqueue_on_commit
from orders.models import Order

EmailKind = Literal["confirmation", "cancellation"]

SUBJECTS: dict[str, str] = {
    "confirmation": "Your Stockroom order {id} is confirmed",
    "cancellation": "Your Stockroom order {id} was cancelled",
}


def order_email_render(order: Order, kind: EmailKind) -> EmailMultiAlternatives:
    """The email for ``order``: a plain-text and an HTML body from templates."""
    context = {"order": order, "lines": list(order.lines.all()), "currency": settings.CURRENCY}
    message = EmailMultiAlternatives(
        subject=SUBJECTS[kind].format(id=order.id),
        body=render_to_string(f"orders/{kind}.txt", context),
        to=[order.customer.email],
    )
    message.attach_alternative(render_to_string(f"orders/{kind}.html", context), "text/html")
    return message


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=8)
def order_email_send(order_id: int, kind: EmailKind) -> None:
    order = Order.objects.select_related("customer").filter(id=order_id).first()
    if order is not None:
        order_email_render(order, kind).send()


def order_email_queue(*, order_id: int, kind: EmailKind) -> None:
    """Send an order email once the caller's transaction commits."""
    enqueue_on_commit(order_email_send, order_id, kind)
