"""``product.stock_low``: sent once when a product's stock falls from at or
above its ``low_stock_threshold`` to below it, whatever takes the stock (an
order, an adjustment through the API or the admin), with the staff Product
and its new stock; never for a threshold of 0, nor for stock already below."""

from typing import Any

import pytest
from django.test import Client

from notifications.domain.webhooks import ORDER_PLACED, PRODUCT_STOCK_LOW
from notifications.models import WebhookDelivery, WebhookEvent
from orders import services
from orders.domain.placement import DraftLine, OrderDraft
from tests.conftest import requires_postgres
from tests.factories import UserFactory, make_product
from tests.notifications.helpers import PRODUCTS, assert_delivery, place, subscribe, types
from tests.support.threads import run_together

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hook(staff_api, webhook_receiver) -> dict[str, Any]:
    return subscribe(staff_api, webhook_receiver.url, PRODUCT_STOCK_LOW)


@pytest.fixture
def admin_client(superuser) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


def adjust(staff_api, product_id: int, delta: int) -> Any:
    return staff_api.post(
        f"{PRODUCTS}{product_id}/stock-adjustments/", {"delta": delta, "reason": "stock-take"}, format="json"
    )


def staff_product(staff_api, product_id: int) -> dict[str, Any]:
    response = staff_api.get(f"{PRODUCTS}{product_id}/")
    assert response.status_code == 200, response.content
    return response.json()


def lows(receiver, secret: str) -> list[dict[str, Any]]:
    return [assert_delivery(r, secret, PRODUCT_STOCK_LOW) for r in receiver.events(PRODUCT_STOCK_LOW)]


def test_an_order_crossing_the_threshold_sends_one_event_and_one_below_it_none(
    customer_api, staff_api, webhook_receiver, hook
):
    product = make_product(stock=6, low_stock_threshold=5)

    assert place(customer_api, (product, 2)).status_code == 201  # 6 → 4

    [data] = lows(webhook_receiver, hook["secret"])
    assert (data["id"], data["stock"], data["low_stock_threshold"]) == (product.id, 4, 5)
    assert data == staff_product(staff_api, product.id)

    webhook_receiver.received.clear()
    assert place(customer_api, (product, 1)).status_code == 201  # 4 → 3: already below
    assert webhook_receiver.received == []
    assert WebhookEvent.objects.count() == 1


def test_falling_to_exactly_the_threshold_is_not_below_it(customer_api, webhook_receiver, hook):
    product = make_product(stock=6, low_stock_threshold=5)

    place(customer_api, (product, 1))  # 6 → 5
    assert webhook_receiver.received == []

    place(customer_api, (product, 1))  # 5 → 4
    assert [d["stock"] for d in lows(webhook_receiver, hook["secret"])] == [4]


def test_a_restock_then_an_adjustment_through_the_api_crosses_again(customer_api, staff_api, webhook_receiver, hook):
    product = make_product(stock=6, low_stock_threshold=5)
    place(customer_api, (product, 2))  # 6 → 4: the first crossing
    webhook_receiver.received.clear()

    restocked = adjust(staff_api, product.id, 6)  # 4 → 10: rising crosses nothing
    assert restocked.status_code == 201, restocked.content
    assert webhook_receiver.received == []

    taken = adjust(staff_api, product.id, -6)  # 10 → 4

    assert taken.status_code == 201, taken.content
    [data] = lows(webhook_receiver, hook["secret"])
    assert data["stock"] == 4 and data == taken.json()["product"] == staff_product(staff_api, product.id)


def test_an_adjustment_refused_for_stock_sends_nothing(staff_api, webhook_receiver, hook):
    product = make_product(stock=6, low_stock_threshold=5)

    response = adjust(staff_api, product.id, -7)

    assert response.status_code == 409
    assert webhook_receiver.received == [] and not WebhookEvent.objects.exists()


def test_the_admin_stock_adjustment_page_sends_one_event(admin_client, staff_api, webhook_receiver, hook):
    product = make_product(stock=6, low_stock_threshold=5)

    page = admin_client.post(f"/admin/inventory/product/{product.id}/adjust-stock/", {"delta": -3, "reason": "damaged"})

    assert page.status_code == 302, page.content
    [data] = lows(webhook_receiver, hook["secret"])
    assert data["stock"] == 3 and data == staff_product(staff_api, product.id)


def test_a_threshold_of_0_never_fires(customer_api, staff_api, webhook_receiver, hook):
    product = make_product(stock=3)

    place(customer_api, (product, 2))
    place(customer_api, (product, 1))  # down to 0
    adjust(staff_api, product.id, 1)
    adjust(staff_api, product.id, -1)

    assert webhook_receiver.received == []
    assert not WebhookEvent.objects.exists() and not WebhookDelivery.objects.exists()


def test_an_order_bringing_two_products_low_sends_one_event_per_product(
    customer_api, staff_api, webhook_receiver, hook
):
    mug = make_product(stock=6, low_stock_threshold=5)
    cap = make_product(stock=10, low_stock_threshold=8)
    plenty = make_product(stock=100, low_stock_threshold=5)

    assert place(customer_api, (cap, 3), (mug, 2), (plenty, 1)).status_code == 201

    received = lows(webhook_receiver, hook["secret"])
    assert sorted((d["id"], d["stock"]) for d in received) == [(mug.id, 4), (cap.id, 7)]
    for data in received:
        assert data == staff_product(staff_api, data["id"])
    ids = [r.event_id for r in webhook_receiver.received]
    assert len(set(ids)) == 2
    assert sorted(WebhookEvent.objects.values_list("public_id", flat=True)) == sorted(ids)


def test_an_order_with_every_subscription_sends_placed_and_stock_low(customer_api, staff_api, webhook_receiver):
    everything = subscribe(staff_api, webhook_receiver.url)
    product = make_product(stock=6, low_stock_threshold=5)

    order = place(customer_api, (product, 2)).json()

    assert sorted(types(webhook_receiver.received)) == [ORDER_PLACED, PRODUCT_STOCK_LOW]
    [placed] = webhook_receiver.events(ORDER_PLACED)
    assert assert_delivery(placed, everything["secret"], ORDER_PLACED)["id"] == order["id"]
    [data] = lows(webhook_receiver, everything["secret"])
    assert data["stock"] == 4


def test_an_order_naming_a_product_twice_crosses_once(customer_api, webhook_receiver, hook):
    product = make_product(stock=6, low_stock_threshold=5)

    assert place(customer_api, (product, 1), (product, 1)).status_code == 201  # merged: 6 → 4

    assert [d["stock"] for d in lows(webhook_receiver, hook["secret"])] == [4]


@requires_postgres
def test_concurrent_orders_through_the_threshold_send_exactly_one_event(webhook_receiver, hook):
    product = make_product(stock=10, low_stock_threshold=5)
    customer = UserFactory.create()
    draft = OrderDraft((DraftLine(product.id, 1),))

    run_together(lambda: services.order_place(customer=customer, draft=draft), threads=8)

    [data] = lows(webhook_receiver, hook["secret"])
    assert (data["id"], data["stock"]) == (product.id, 4)
    assert WebhookEvent.objects.count() == 1


def test_staff_set_the_threshold_on_create_and_update_and_it_takes_effect(
    customer_api, staff_api, webhook_receiver, hook
):
    created = staff_api.post(
        PRODUCTS, {"sku": "LOW-1", "name": "Low", "price": "5.00", "stock": 6, "low_stock_threshold": 2}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["low_stock_threshold"] == 2
    product_id = created.json()["id"]

    patched = staff_api.patch(f"{PRODUCTS}{product_id}/", {"low_stock_threshold": 5}, format="json")
    assert patched.status_code == 200, patched.content
    assert patched.json()["low_stock_threshold"] == 5
    assert webhook_receiver.received == []  # a new threshold is not a fall of stock

    adjust(staff_api, product_id, -2)  # 6 → 4

    [data] = lows(webhook_receiver, hook["secret"])
    assert (data["id"], data["stock"], data["low_stock_threshold"]) == (product_id, 4, 5)


@pytest.mark.parametrize("method", ["post", "patch"])
def test_a_negative_threshold_is_refused(method, staff_api):
    product = make_product()
    body: dict[str, Any] = {"low_stock_threshold": -1}
    if method == "post":
        url, body = PRODUCTS, {**body, "sku": "NEG-1", "name": "Neg", "price": "1.00"}
    else:
        url = f"{PRODUCTS}{product.id}/"

    response = getattr(staff_api, method)(url, body, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["type"] == "validation_error"
    assert [e["attr"] for e in response.json()["errors"]] == ["low_stock_threshold"]
    assert staff_product(staff_api, product.id)["low_stock_threshold"] == 0
