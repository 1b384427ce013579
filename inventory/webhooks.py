"""Stock events for webhooks (notifications.webhooks): the Product as the API
shows it to staff at the moment of the change, in each API version's shape."""

from collections.abc import Sequence
from typing import Any

from inventory.models import Product
from inventory.serializers import ProductSerializer
from notifications.domain.webhooks import PRODUCT_STOCK_LOW
from notifications.webhooks import webhook_emit


def product_data(product: Product, api_version: str) -> dict[str, Any]:
    """A product event's ``data`` for endpoints pinned to ``api_version``. One
    shape so far ("2026-12-07"): the staff Product of the API, frozen by
    tests/notifications/test_webhook_shapes.py; a change to it is a new version."""
    return dict(ProductSerializer(product).data)


def stock_low_emit(product_ids: Sequence[int]) -> None:
    """In the transaction of the stock change, after the stock is written:
    one ``product.stock_low`` event per product that crossed its threshold."""

    def render(version: str) -> list[dict[str, Any]]:
        return [product_data(p, version) for p in Product.objects.filter(id__in=product_ids).order_by("id")]

    webhook_emit(PRODUCT_STOCK_LOW, render)
