"""The shape of ``data`` for endpoints pinned to API version "2026-12-07",
frozen: the Order and the Product as the API returned them to staff on that
day. The key sets below are written out on purpose. If one of these tests
fails because a representation changed, the change is a new API version
(notifications.domain.webhooks.API_VERSIONS), and the renderers in
orders.webhooks and inventory.webhooks keep this shape for the endpoints
pinned to it; do not edit the sets here to make the test pass.
"""

import re
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.factories import make_product

# Real commits: the event is rendered in the transaction of the change and
# compared with what a later request reads back from the database.
pytestmark = pytest.mark.django_db(transaction=True)

API_VERSION = "2026-12-07"
ORDER_KEYS = {
    "id",
    "status",
    "customer",
    "lines",
    "subtotal",
    "discount",
    "total",
    "refunded_total",
    "currency",
    "coupon",
    "expires_at",
    "created_at",
    "updated_at",
}
ORDER_CUSTOMER_KEYS = {"id", "email", "username"}
ORDER_LINE_KEYS = {"product_id", "sku", "name", "quantity", "unit_price", "line_total", "returned_quantity"}
ORDER_MONEY = ("subtotal", "discount", "total", "refunded_total")
LINE_MONEY = ("unit_price", "line_total")
PRODUCT_KEYS = {
    "id",
    "sku",
    "name",
    "description",
    "price",
    "currency",
    "stock",
    "low_stock_threshold",
    "is_active",
    "created_at",
    "updated_at",
}
TWO_PLACES = re.compile(r"-?[0-9]+\.[0-9]{2}")


@pytest.fixture
def commit() -> Callable[[Callable[[], Any]], Any]:
    """Each request commits (the tests here are transactional): its deliveries run before it answers."""
    return lambda request: request()


def subscribe(staff_api: APIClient, url: str, *events: str) -> dict[str, Any]:
    r = staff_api.post("/api/v1/webhooks/", {"url": url, "events": list(events)}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["api_version"] == API_VERSION
    return r.json()


def place(api: APIClient, *lines: tuple[int, int]) -> dict[str, Any]:
    body = {"lines": [{"product_id": pid, "quantity": qty} for pid, qty in lines]}
    r = api.post("/api/v1/orders/", body, format="json")
    assert r.status_code == 201, r.content
    return r.json()


def test_order_placed_data_is_the_staff_order_of_2026_12_07(
    staff_api, customer_api, customer, webhook_receiver, commit
):
    subscribe(staff_api, webhook_receiver.url, "order.placed")
    mug = make_product(sku="MUG-1", name="Mug", price="19.99", stock=10)
    pen = make_product(sku="PEN-1", name="Pen", price="2.5", stock=10)
    placed = commit(lambda: place(customer_api, (mug.id, 2), (pen.id, 3)))

    (received,) = webhook_receiver.events("order.placed")
    event = received.json
    assert set(event) == {"id", "type", "api_version", "created_at", "data"}
    assert event["api_version"] == API_VERSION
    data = event["data"]
    assert set(data) == ORDER_KEYS
    assert set(data["customer"]) == ORDER_CUSTOMER_KEYS
    assert data["customer"] == {"id": customer.id, "email": customer.email, "username": customer.username}
    assert [set(line) for line in data["lines"]] == [ORDER_LINE_KEYS, ORDER_LINE_KEYS]
    for name in ORDER_MONEY:
        assert isinstance(data[name], str) and TWO_PLACES.fullmatch(data[name]), (name, data[name])
    for line in data["lines"]:
        for name in LINE_MONEY:
            assert isinstance(line[name], str) and TWO_PLACES.fullmatch(line[name]), (name, line[name])
    assert [(li["sku"], li["quantity"], li["unit_price"], li["line_total"]) for li in data["lines"]] == [
        ("MUG-1", 2, "19.99", "39.98"),
        ("PEN-1", 3, "2.50", "7.50"),
    ]
    assert (data["subtotal"], data["discount"], data["total"], data["refunded_total"]) == (
        "47.48",
        "0.00",
        "47.48",
        "0.00",
    )
    assert (data["status"], data["currency"], data["coupon"]) == ("pending", "USD", None)

    as_staff = staff_api.get(f"/api/v1/orders/{placed['id']}/")
    assert as_staff.status_code == 200
    assert set(as_staff.json()) == ORDER_KEYS
    assert data == as_staff.json()


def test_order_status_changed_data_is_the_staff_order_after_the_move(staff_api, customer_api, webhook_receiver, commit):
    subscribe(staff_api, webhook_receiver.url, "order.status_changed")
    mug = make_product(price="19.99", stock=10)
    placed = place(customer_api, (mug.id, 1))
    r = commit(lambda: staff_api.post(f"/api/v1/orders/{placed['id']}/transition/", {"status": "paid"}, format="json"))
    assert r.status_code == 200, r.content

    (received,) = webhook_receiver.events("order.status_changed")
    data = received.json["data"]
    assert set(data) == ORDER_KEYS
    assert (data["id"], data["status"], data["expires_at"]) == (placed["id"], "paid", None)
    assert data == r.json() == staff_api.get(f"/api/v1/orders/{placed['id']}/").json()


def test_product_stock_low_data_is_the_staff_product_of_2026_12_07(staff_api, customer_api, webhook_receiver, commit):
    subscribe(staff_api, webhook_receiver.url, "product.stock_low")
    lamp = make_product(sku="LAMP-1", name="Lamp", price="35", stock=10, low_stock_threshold=5, description="A lamp")
    commit(lambda: place(customer_api, (lamp.id, 6)))

    (received,) = webhook_receiver.events("product.stock_low")
    event = received.json
    assert event["api_version"] == API_VERSION
    data = event["data"]
    assert set(data) == PRODUCT_KEYS
    assert (data["id"], data["sku"], data["stock"], data["low_stock_threshold"]) == (lamp.id, "LAMP-1", 4, 5)
    assert (data["price"], data["currency"], data["is_active"]) == ("35.00", "USD", True)

    as_staff = staff_api.get(f"/api/v1/products/{lamp.id}/")
    assert as_staff.status_code == 200
    assert set(as_staff.json()) == PRODUCT_KEYS
    assert data == as_staff.json()


def test_stock_that_stays_below_the_threshold_sends_no_second_stock_low(
    staff_api, customer_api, webhook_receiver, commit
):
    subscribe(staff_api, webhook_receiver.url, "product.stock_low")
    lamp = make_product(stock=10, low_stock_threshold=5)
    commit(lambda: place(customer_api, (lamp.id, 6)))
    commit(lambda: place(customer_api, (lamp.id, 1)))
    assert [r.json["data"]["stock"] for r in webhook_receiver.events("product.stock_low")] == [4]
