"""What the security suite shares: the operations of the OpenAPI schema (so a
new endpoint cannot be left out of a table), the error envelope, and a
snapshot of everything a refused request must leave alone."""

from collections.abc import Iterable
from functools import cache
from typing import Any

from django.db.models import Model
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from inventory.models import Product, StockMovement
from notifications.models import WebhookDelivery, WebhookEndpoint
from orders.models import Coupon, Order, OrderLine
from tests.users.helpers import assert_envelope, assert_single_error
from users.models import User

__all__ = ["assert_envelope", "assert_single_error"]

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
Operation = tuple[str, str]  # ("POST", "/api/v1/orders/{id}/cancel/")


@cache
def schema() -> dict[str, Any]:
    """The schema exactly as /api/schema/ serves it to the public."""
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def operations() -> list[Operation]:
    return sorted((method.upper(), path) for path, ops in schema()["paths"].items() for method in ops)


def operation(method: str, path: str) -> dict[str, Any]:
    return schema()["paths"][path][method.lower()]


def documented_statuses(method: str, path: str) -> set[int]:
    return {int(code) for code in operation(method, path)["responses"]}


def is_public(method: str, path: str) -> bool:
    """The schema lets anonymous clients call it: no security requirement, or
    an empty one among the alternatives."""
    security = operation(method, path).get("security")
    return not security or {} in security


def parameters(method: str, path: str) -> set[str]:
    return {p["name"] for p in operation(method, path).get("parameters", [])}


def url(path: str, object_id: int | None = None) -> str:
    return path if object_id is None else path.replace("{id}", str(object_id))


def call(client: Any, method: str, path: str, body: Any = None, **extra: Any) -> Any:
    """One request as JSON; the test client re-raises nothing (a 500 is an answer to check)."""
    client.raise_request_exception = False
    return getattr(client, method.lower())(path, body, format="json", **extra)


def _rows(model: type[Model], fields: Iterable[str]) -> list[tuple[Any, ...]]:
    return list(model._default_manager.order_by("pk").values_list(*fields))


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row a request could change, as plain values."""
    return {
        "users": _rows(
            User,
            ("id", "email", "username", "full_name", "is_active", "is_staff", "is_superuser", "password"),
        ),
        "products": _rows(Product, ("id", "sku", "name", "description", "price", "stock", "is_active")),
        "movements": _rows(StockMovement, ("id", "product_id", "delta", "order_id", "balance_after")),
        "orders": _rows(Order, ("id", "status", "customer_id", "subtotal", "discount", "total", "coupon_code")),
        "lines": _rows(OrderLine, ("id", "order_id", "product_id", "quantity", "unit_price")),
        "coupons": _rows(
            Coupon, ("id", "code", "percent_off", "amount_off", "max_uses", "times_used", "is_active", "valid_until")
        ),
        "webhooks": _rows(WebhookEndpoint, ("id", "url", "events", "is_active", "secret", "previous_secret")),
        "deliveries": _rows(WebhookDelivery, ("id", "endpoint_id", "event_id", "status")),
        "tokens": _rows(OutstandingToken, ("jti",)),
        "revoked": _rows(BlacklistedToken, ("token_id",)),
    }


SECRET_MARKERS = ("argon2", "pbkdf2", "scrypt", "password")


def assert_no_secrets(response: Any, *, foreign_emails: Iterable[str] = ()) -> None:
    """No password, hash or superuser flag, and none of ``foreign_emails``, in a response body."""
    body = response.content.decode()
    lowered = body.lower()
    for marker in SECRET_MARKERS:
        assert marker not in lowered, (marker, response.wsgi_request.path, body)
    assert "is_superuser" not in body, body
    for email in foreign_emails:
        assert email.lower() not in lowered, (email, response.wsgi_request.path, body)
