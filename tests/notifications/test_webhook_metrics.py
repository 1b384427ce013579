"""The webhook gauges of /metrics: deliveries by event type and status, and
how long the oldest pending one has waited."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from notifications.models import WebhookDelivery
from tests.factories import make_product
from tests.support.metrics import metric
from tests.support.webhooks import WebhookReceiver

pytestmark = pytest.mark.django_db

DELIVERIES = "stockroom_webhook_deliveries"
OLDEST = "stockroom_webhook_oldest_pending_seconds"


@pytest.fixture
def failing_receiver(settings) -> Any:
    """A second receiver on 127.0.0.1, answering 500 to everything."""
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    receiver = WebhookReceiver(statuses=(500,)).start()
    yield receiver
    receiver.stop()


def subscribe(staff_api: APIClient, url: str, *events: str) -> int:
    r = staff_api.post("/api/v1/webhooks/", {"url": url, "events": list(events)}, format="json")
    assert r.status_code == 201, r.content
    return r.json()["id"]


def place_order(customer_api: APIClient, product_id: int) -> None:
    r = customer_api.post("/api/v1/orders/", {"lines": [{"product_id": product_id, "quantity": 1}]}, format="json")
    assert r.status_code == 201, r.content


def test_deliveries_are_counted_by_event_type_and_status(
    staff_api, customer_api, webhook_receiver, failing_receiver, commit
):
    assert metric(DELIVERIES, event_type="order.placed", status="succeeded") == 0
    up = subscribe(staff_api, webhook_receiver.url, "order.placed")
    subscribe(staff_api, failing_receiver.url, "order.placed")
    product = make_product(stock=100)
    for _ in range(3):
        commit(lambda: place_order(customer_api, product.id))
    commit(lambda: staff_api.post(f"/api/v1/webhooks/{up}/ping/"))
    commit(lambda: staff_api.post(f"/api/v1/webhooks/{up}/ping/"))
    assert len(webhook_receiver.received) == 5 and len(failing_receiver.received) == 3

    assert metric(DELIVERIES, event_type="order.placed", status="succeeded") == 3
    assert metric(DELIVERIES, event_type="order.placed", status="pending") == 3
    assert metric(DELIVERIES, event_type="order.placed", status="failed") == 0
    assert metric(DELIVERIES, event_type="ping", status="succeeded") == 2
    assert metric(DELIVERIES, event_type="product.stock_low", status="succeeded") == 0


def test_deliveries_of_an_endpoint_set_inactive_are_counted_as_failed(
    staff_api, customer_api, failing_receiver, commit
):
    down = subscribe(staff_api, failing_receiver.url, "order.placed")
    product = make_product(stock=100)
    for _ in range(2):
        commit(lambda: place_order(customer_api, product.id))
    assert metric(DELIVERIES, event_type="order.placed", status="pending") == 2
    r = staff_api.patch(f"/api/v1/webhooks/{down}/", {"is_active": False}, format="json")
    assert r.status_code == 200
    assert metric(DELIVERIES, event_type="order.placed", status="failed") == 2
    assert metric(DELIVERIES, event_type="order.placed", status="pending") == 0


def test_deliveries_of_a_deleted_endpoint_are_no_longer_counted(staff_api, customer_api, failing_receiver, commit):
    down = subscribe(staff_api, failing_receiver.url, "order.placed")
    commit(lambda: place_order(customer_api, make_product(stock=5).id))
    assert metric(DELIVERIES, event_type="order.placed", status="pending") == 1
    assert staff_api.delete(f"/api/v1/webhooks/{down}/").status_code == 204
    assert metric(DELIVERIES, event_type="order.placed", status="pending") == 0
    assert metric(OLDEST) == 0


def test_oldest_pending_is_zero_when_nothing_waits(staff_api, webhook_receiver, commit):
    assert metric(OLDEST) == 0
    up = subscribe(staff_api, webhook_receiver.url, "order.placed")
    commit(lambda: staff_api.post(f"/api/v1/webhooks/{up}/ping/"))
    assert metric(DELIVERIES, event_type="ping", status="succeeded") == 1
    assert metric(OLDEST) == 0


def test_oldest_pending_is_the_age_of_the_oldest_pending_delivery(staff_api, customer_api, failing_receiver, commit):
    subscribe(staff_api, failing_receiver.url, "order.placed")
    product = make_product(stock=100)
    for _ in range(2):
        commit(lambda: place_order(customer_api, product.id))
    assert 0 < metric(OLDEST) < 60
    oldest, newer = WebhookDelivery.objects.order_by("id")
    WebhookDelivery.objects.filter(id=oldest.id).update(created_at=timezone.now() - timedelta(hours=2))
    WebhookDelivery.objects.filter(id=newer.id).update(created_at=timezone.now() - timedelta(minutes=5))
    assert 2 * 3600 <= metric(OLDEST) < 2 * 3600 + 60
    # A succeeded delivery however old is not waiting.
    WebhookDelivery.objects.filter(id=oldest.id).update(status="succeeded", delivered_at=timezone.now())
    assert 5 * 60 <= metric(OLDEST) < 5 * 60 + 60
    WebhookDelivery.objects.filter(id=newer.id).update(status="failed")
    assert metric(OLDEST) == 0
