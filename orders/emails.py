"""Order emails — confirmation when placed, notice when cancelled — rendered
from templates into the outbox (users.outbox), which delivers them."""

from collections.abc import Sequence
from typing import Literal

from django.conf import settings
from django.template.loader import render_to_string

from orders.models import Order, OrderLine
from users.models import OutboxEmail
from users.outbox import outbox_enqueue

EmailKind = Literal["confirmation", "cancellation"]

SUBJECTS: dict[str, str] = {
    "confirmation": "Your Stockroom order {id} is confirmed",
    "cancellation": "Your Stockroom order {id} was cancelled",
}


def order_email_render(order: Order, lines: Sequence[OrderLine], kind: EmailKind) -> tuple[str, str, str]:
    """Subject, plain text and HTML of an order email."""
    context = {"order": order, "lines": lines, "currency": settings.CURRENCY}
    return (
        SUBJECTS[kind].format(id=order.id),
        render_to_string(f"orders/{kind}.txt", context),
        render_to_string(f"orders/{kind}.html", context),
    )


def order_email_enqueue(*, order: Order, lines: Sequence[OrderLine], kind: EmailKind) -> OutboxEmail:
    """Queue an order email. The caller holds the transaction that changed the order."""
    subject, text, html = order_email_render(order, lines, kind)
    return outbox_enqueue(kind=f"order_{kind}", to=order.customer.email, subject=subject, text=text, html=html)
