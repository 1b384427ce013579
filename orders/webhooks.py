"""Order events for webhooks (notifications.webhooks): the Order as the API
shows it to staff at the moment of the change, in each API version's shape."""

from collections.abc import Iterable
from typing import Any

from notifications.domain.webhooks import ORDER_PLACED, ORDER_RETURN_RECORDED, ORDER_STATUS_CHANGED
from notifications.webhooks import webhook_emit
from orders.models import Order, OrderLine
from orders.serializers import order_model_representation


def order_data(order: Order, lines: Iterable[OrderLine], api_version: str) -> dict[str, Any]:
    """An order event's ``data`` for endpoints pinned to ``api_version``. One
    shape so far ("2026-12-07"): the staff Order of the API, frozen by
    tests/notifications/test_webhook_shapes.py; a change to it is a new version."""
    return order_model_representation(order, lines)


def order_placed_emit(order: Order, lines: list[OrderLine]) -> None:
    """In the transaction that placed the order, in its unit of work: the
    endpoints are read with its writes, the event rendered after them."""
    webhook_emit(ORDER_PLACED, lambda version: [order_data(order, lines, version)])


def order_status_changed_emit(order: Order) -> None:
    """In the transaction of the move (transition, cancel, expiry, full return)."""
    webhook_emit(ORDER_STATUS_CHANGED, lambda version: [order_data(order, order.lines.all(), version)])


def order_return_recorded_emit(order: Order) -> None:
    webhook_emit(ORDER_RETURN_RECORDED, lambda version: [order_data(order, order.lines.all(), version)])
