"""Order emails — confirmation when placed, notice when cancelled — queued in
the outbox (notifications.services) with what their templates need; the outbox renders
them when it delivers them, outside the request."""

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from django.conf import settings

from config.api.representation import money
from notifications.models import OutboxEmail
from notifications.services import outbox_enqueue
from orders.models import Order, OrderLine, Return, ReturnLine

EmailKind = Literal["confirmation", "cancellation", "expiry", "return"]

SUBJECTS: dict[str, str] = {
    "confirmation": "Your Stockroom order {id} is confirmed",
    "cancellation": "Your Stockroom order {id} was cancelled",
    "expiry": "Your Stockroom order {id} expired unpaid",
    "return": "Your return for Stockroom order {id} is recorded",
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


def order_return_email_enqueue(
    *, order: Order, order_return: Return, lines: Sequence[ReturnLine], ordered: Mapping[int, OrderLine]
) -> OutboxEmail:
    """Queue the notice of a recorded return, with its refund. ``ordered``:
    the order's lines by product id, for each returned line's sku and name."""
    context = order_email_context(order, [])
    context["refund_total"] = money(order_return.refund_total)
    context["refunded_total"] = money(order.refunded_total)
    context["returned"] = [
        {
            "sku": ordered[line.product_id].sku,
            "name": ordered[line.product_id].name,
            "quantity": str(line.quantity),
            "refund_amount": money(line.refund_amount),
        }
        for line in lines
    ]
    return outbox_enqueue(
        kind="order_return",
        to=order.customer.email,
        subject=SUBJECTS["return"].format(id=order.id),
        template="orders/return",
        context=context,
    )
