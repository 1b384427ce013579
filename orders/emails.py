"""Order emails — confirmation when placed, notice when cancelled — rendered
from templates into the outbox (users.outbox), which delivers them."""

from collections.abc import Sequence
from typing import Literal

from django.conf import settings
from django.template.loader import render_to_string

from config.bulk import Writes
from config.representation import money
from orders.models import Order, OrderLine
from users.models import OutboxEmail
from users.outbox import outbox_enqueue

EmailKind = Literal["confirmation", "cancellation"]

SUBJECTS: dict[str, str] = {
    "confirmation": "Your Stockroom order {id} is confirmed",
    "cancellation": "Your Stockroom order {id} was cancelled",
}


def order_email_render(order: Order, lines: Sequence[OrderLine], kind: EmailKind) -> tuple[str, str, str]:
    """Subject, plain text and HTML of an order email.

    The templates get every value already written out (money as the API
    writes it), so rendering them costs no number formatting per value."""
    customer = order.customer
    context = {
        "customer_name": customer.full_name or customer.username,
        "order": {
            "id": str(order.id),
            "subtotal": money(order.subtotal),
            "discount": money(order.discount),
            "total": money(order.total),
            "coupon_code": order.coupon_code or "",
        },
        "lines": [
            {
                "sku": line.sku,
                "name": line.name,
                "quantity": str(line.quantity),
                "unit_price": money(line.unit_price),
                "line_total": money(line.line_total),
            }
            for line in lines
        ],
        "currency": settings.CURRENCY,
    }
    return (
        SUBJECTS[kind].format(id=order.id),
        render_to_string(f"orders/{kind}.txt", context),
        render_to_string(f"orders/{kind}.html", context),
    )


def order_email_enqueue(
    *, order: Order, lines: Sequence[OrderLine], kind: EmailKind, writes: Writes | None = None
) -> OutboxEmail:
    """Queue an order email. The caller holds the transaction that changed the
    order (and, given ``writes``, flushes them)."""
    subject, text, html = order_email_render(order, lines, kind)
    return outbox_enqueue(
        kind=f"order_{kind}", to=order.customer.email, subject=subject, text=text, html=html, writes=writes
    )
