"""Helpers shared by the webhook event tests: endpoints registered through the
API, and what a careful receiver checks of every delivery it gets."""

import time
from datetime import datetime
from typing import Any

from rest_framework.test import APIClient

from notifications.domain.signing import verify_signature
from notifications.domain.webhooks import EVENT_TYPES
from notifications.models import WebhookDelivery
from tests.support.webhooks import Received

WEBHOOKS = "/api/v1/webhooks/"
ORDERS = "/api/v1/orders/"
PRODUCTS = "/api/v1/products/"
API_VERSION = "2026-12-07"


def subscribe(staff_api: APIClient, url: str, *events: str, is_active: bool = True) -> dict[str, Any]:
    """Register an endpoint as staff do (every event type unless named); its body, ``secret`` included."""
    body = {"url": url, "events": list(events or EVENT_TYPES), "is_active": is_active}
    response = staff_api.post(WEBHOOKS, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["secret"].startswith("whsec_")
    return response.json()


def order_url(order_id: int | str, action: str = "") -> str:
    return f"{ORDERS}{order_id}/" + (f"{action}/" if action else "")


def place(api: APIClient, *pairs: tuple[Any, int], key: str | None = None) -> Any:
    body = {"lines": [{"product_id": product.id, "quantity": quantity} for product, quantity in pairs]}
    headers: dict[str, Any] = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return api.post(ORDERS, body, format="json", **headers)


def types(received: list[Received]) -> list[str]:
    return [r.json["type"] for r in received]


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def assert_delivery(received: Received, secret: str, event_type: str) -> dict[str, Any]:
    """Everything a receiver relies on, checked for one delivery; returns its ``data``."""
    assert received.headers["Content-Type"] == "application/json"
    body = received.json
    assert set(body) == {"id", "type", "api_version", "created_at", "data"}, body
    assert body["id"].startswith("evt_") and len(body["id"]) > len("evt_")
    assert received.headers["Stockroom-Event-Id"] == body["id"]
    assert (body["type"], body["api_version"]) == (event_type, API_VERSION)
    assert abs(_parse(body["created_at"]).timestamp() - time.time()) < 60
    assert verify_signature(received.body, received.headers["Stockroom-Signature"], secret, now=int(time.time()))
    assert not verify_signature(received.body, received.headers["Stockroom-Signature"], "whsec_x", now=int(time.time()))
    return body["data"]


def signatures(received: Received) -> tuple[str, list[str]]:
    """The ``t`` and each ``v1`` of a delivery's ``Stockroom-Signature``."""
    parts = [element.partition("=") for element in received.headers["Stockroom-Signature"].split(",")]
    [t] = [value for key, _, value in parts if key == "t"]
    return t, [value for key, _, value in parts if key == "v1"]


def verifies(received: Received, t: str, v1: str, secret: str) -> bool:
    """Whether one ``v1`` alone, with its ``t``, signs the body with ``secret``."""
    return verify_signature(received.body, f"t={t},v1={v1}", secret, now=int(time.time()))


def all_succeeded() -> bool:
    """Every delivery written was made (the receiver answered 2xx)."""
    return not WebhookDelivery.objects.exclude(status=WebhookDelivery.Status.SUCCEEDED).exists()
