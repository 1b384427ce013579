"""Order emails — confirmation when placed, notice when cancelled — queued in
the outbox (notifications.services) with what their templates need; the outbox renders
them when it delivers them, outside the request."""

from collections.abc import Sequence
from typing import Any, Literal

from django.conf import settings

from config.api.representation import money
from notifications.models import OutboxEmail
from notifications.services import outbox_enqueue
from orders.models import Order, OrderLine

EmailKind = Literal["confirmation", "cancellation"]

SUBJECTS: dict[str, str] = {
    "confirmation": "Your Stockroom order {id} is confirmed",
    "cancellation": "Your Stockroom order {id} was cancelled",
}


def order_email_context(order: Order, lines: Sequence[OrderLine]) -> dict[str, Any]:
    """What an order email's templates show, as plain JSON values: every value
    already written out (money as the API writes it), so the outbox row holds
    the email as it was at the time, and rendering formats no numbers."""
    customer = order.customer
    return {
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


def order_email_enqueue(*, order: Order, lines: Sequence[OrderLine], kind: EmailKind) -> OutboxEmail:
    """Queue an order email. The caller holds the transaction that changed the order."""
    return outbox_enqueue(
        kind=f"order_{kind}",
        to=order.customer.email,
        subject=SUBJECTS[kind].format(id=order.id),
        template=f"orders/{kind}",
        context=order_email_context(order, lines),
    )
