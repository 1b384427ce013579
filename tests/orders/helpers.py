"""Small helpers shared by the orders API tests."""

from typing import Any

from django.db.models import Sum
from rest_framework.test import APIClient

from inventory.models import Product, StockMovement

ORDERS = "/api/v1/orders/"
COUPONS = "/api/v1/coupons/"
TOP_CUSTOMERS = "/api/v1/reports/top-customers/"


def order_url(order_id: int | str, action: str = "") -> str:
    return f"{ORDERS}{order_id}/" + (f"{action}/" if action else "")


def lines(*pairs: tuple[Product, int]) -> list[dict[str, int]]:
    return [{"product_id": product.id, "quantity": qty} for product, qty in pairs]


def place(api: APIClient, *pairs: tuple[Product, int], coupon: str | None = None, key: str | None = None) -> Any:
    body: dict[str, Any] = {"lines": lines(*pairs)}
    if coupon is not None:
        body["coupon"] = coupon
    headers: dict[str, Any] = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return api.post(ORDERS, body, format="json", **headers)


def errors(response: Any) -> list[tuple[str, str | None]]:
    """The (code, attr) pairs of an error envelope, after checking its shape."""
    body = response.json()
    assert set(body) == {"type", "errors"}, body
    assert body["type"] in {"validation_error", "client_error", "server_error"}, body
    assert body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"code", "detail", "attr"}, error
        assert isinstance(error["detail"], str) and error["detail"], error
    return [(e["code"], e["attr"]) for e in body["errors"]]


def error_attrs(response: Any) -> list[str | None]:
    return [attr for _, attr in errors(response)]


def stock(product: Product) -> int:
    return Product.objects.values_list("stock", flat=True).get(id=product.id)


def ledger_sum(product: Product) -> int:
    return StockMovement.objects.filter(product_id=product.id).aggregate(total=Sum("delta"))["total"] or 0


def ledger_count(product: Product) -> int:
    return StockMovement.objects.filter(product_id=product.id).count()
