"""Every order change produces its webhook events, by every path (API, admin,
the expiry task), delivered signed to a real receiver on 127.0.0.1 right
after commit; nothing of a change that rolls back, nothing for a change no
endpoint subscribes to. Stock events: test_webhook_stock_low.py."""

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from celery.signals import before_task_publish
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.domain.webhooks import (
    ORDER_PLACED,
    ORDER_RETURN_RECORDED,
    ORDER_STATUS_CHANGED,
    PRODUCT_STOCK_LOW,
)
from notifications.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from orders import services
from orders.domain.placement import DraftLine, OrderDraft
from orders.models import Order
from orders.tasks import orders_expire_due_task
from tests.factories import make_product
from tests.notifications.helpers import (
    WEBHOOKS,
    all_succeeded,
    assert_delivery,
    order_url,
    place,
    signatures,
    subscribe,
    types,
    verifies,
)
from tests.support.webhooks import WebhookReceiver

# Commits happen, so each delivery is made (eagerly, in-process) after them.
pytestmark = pytest.mark.django_db(transaction=True)

ADMIN_ORDERS = "/admin/orders/order/"
DELIVER_TASK = "notifications.tasks.webhook_deliver_task"


@pytest.fixture
def hook(staff_api, webhook_receiver) -> dict[str, Any]:
    """An endpoint subscribed to every event, at the receiver."""
    return subscribe(staff_api, webhook_receiver.url)


@pytest.fixture
def second_receiver(webhook_receiver) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()  # private hosts already allowed by webhook_receiver
    yield receiver
    receiver.stop()


@pytest.fixture
def admin_client(superuser) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


def staff_view(staff_api, order_id: int) -> dict[str, Any]:
    response = staff_api.get(order_url(order_id))
    assert response.status_code == 200, response.content
    return response.json()


def placed_order(customer_api, webhook_receiver, *pairs) -> dict[str, Any]:
    response = place(customer_api, *pairs)
    assert response.status_code == 201, response.content
    webhook_receiver.received.clear()
    return response.json()


def walk(staff_api, order_id: int, *statuses: str) -> None:
    for status in statuses:
        response = staff_api.post(order_url(order_id, "transition"), {"status": status}, format="json")
        assert response.status_code == 200, response.content


def status_changes(received, secret: str) -> list[str]:
    return [assert_delivery(r, secret, ORDER_STATUS_CHANGED)["status"] for r in received]


# --- order.placed ---------------------------------------------------------------------


def test_placing_an_order_delivers_one_signed_order_placed_event(customer_api, staff_api, webhook_receiver, hook):
    product = make_product(stock=10)

    response = place(customer_api, (product, 2))

    assert response.status_code == 201, response.content
    [received] = webhook_receiver.received
    assert received.path == "/hooks"
    data = assert_delivery(received, hook["secret"], ORDER_PLACED)
    assert data == response.json() == staff_view(staff_api, response.json()["id"])
    assert data["status"] == "pending" and data["lines"][0]["quantity"] == 2
    event = WebhookEvent.objects.get()
    assert (event.public_id, event.type, event.body.encode()) == (received.event_id, ORDER_PLACED, received.body)
    assert list(WebhookDelivery.objects.values_list("endpoint_id", "event_id", "status", "attempts")) == [
        (hook["id"], received.event_id, "succeeded", 1)
    ]


def test_an_idempotent_replay_sends_no_second_order_placed_event(customer_api, webhook_receiver, hook):
    product = make_product(stock=10)

    first = place(customer_api, (product, 1), key="order-once")
    replay = place(customer_api, (product, 1), key="order-once")

    assert first.status_code == replay.status_code == 201
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.json() == first.json()
    [received] = webhook_receiver.received
    assert assert_delivery(received, hook["secret"], ORDER_PLACED) == first.json()
    assert WebhookEvent.objects.count() == 1 and WebhookDelivery.objects.count() == 1


# --- order.status_changed: every change, by every path ----------------------------------


def test_each_transition_through_the_api_delivers_status_changed_with_the_new_status(
    customer_api, staff_api, webhook_receiver, hook
):
    order = placed_order(customer_api, webhook_receiver, (make_product(stock=5), 1))

    for status in ("paid", "shipped", "delivered"):
        walk(staff_api, order["id"], status)
        [received] = webhook_receiver.received
        data = assert_delivery(received, hook["secret"], ORDER_STATUS_CHANGED)
        assert data["status"] == status
        assert data == staff_view(staff_api, order["id"])
        webhook_receiver.received.clear()
    assert data["expires_at"] is None


def test_the_admin_actions_deliver_status_changed_for_each_order_they_move(
    customer_api, admin_client, staff_api, webhook_receiver, hook
):
    product = make_product(stock=10)
    first = placed_order(customer_api, webhook_receiver, (product, 1))
    second = placed_order(customer_api, webhook_receiver, (product, 2))
    ids = [first["id"], second["id"]]

    third = placed_order(customer_api, webhook_receiver, (product, 1))  # left pending: refused below

    for action, status in (("mark_paid", "paid"), ("mark_shipped", "shipped"), ("mark_delivered", "delivered")):
        selected = ids if action == "mark_paid" else [*ids, third["id"]]
        page = admin_client.post(ADMIN_ORDERS, {"action": action, "_selected_action": selected}, follow=True)
        assert page.status_code == 200
        received = webhook_receiver.received
        assert status_changes(received, hook["secret"]) == [status, status]
        assert sorted(r.json["data"]["id"] for r in received) == sorted(ids)
        webhook_receiver.received.clear()

    admin_client.post(ADMIN_ORDERS, {"action": "mark_cancelled", "_selected_action": [third["id"]]}, follow=True)
    [cancelled] = webhook_receiver.received
    assert assert_delivery(cancelled, hook["secret"], ORDER_STATUS_CHANGED) == staff_view(staff_api, third["id"])
    assert cancelled.json["data"]["status"] == "cancelled"


def test_the_admin_full_return_action_delivers_return_recorded_then_status_changed(
    customer_api, admin_client, staff_api, webhook_receiver, hook
):
    order = placed_order(customer_api, webhook_receiver, (make_product(stock=10), 3))
    walk(staff_api, order["id"], "paid", "shipped", "delivered")
    webhook_receiver.received.clear()

    admin_client.post(ADMIN_ORDERS, {"action": "record_full_return", "_selected_action": [order["id"]]}, follow=True)

    recorded, returned = webhook_receiver.received
    assert assert_delivery(recorded, hook["secret"], ORDER_RETURN_RECORDED)["status"] == "delivered"
    assert assert_delivery(returned, hook["secret"], ORDER_STATUS_CHANGED) == staff_view(staff_api, order["id"])
    assert returned.json["data"]["status"] == "returned"


@pytest.mark.parametrize("by", ["customer_cancel", "staff_transition"])
def test_a_cancel_delivers_status_changed_to_cancelled(by, customer_api, staff_api, webhook_receiver, hook):
    order = placed_order(customer_api, webhook_receiver, (make_product(stock=5), 2))

    if by == "customer_cancel":
        response = customer_api.post(order_url(order["id"], "cancel"))
    else:
        response = staff_api.post(order_url(order["id"], "transition"), {"status": "cancelled"}, format="json")

    assert response.status_code == 200, response.content
    [received] = webhook_receiver.received
    data = assert_delivery(received, hook["secret"], ORDER_STATUS_CHANGED)
    assert data["status"] == "cancelled" and data == staff_view(staff_api, order["id"])


@pytest.mark.parametrize("run", [services.orders_expire_due, orders_expire_due_task.delay], ids=["service", "task"])
def test_expiry_delivers_status_changed_to_expired(run, customer_api, staff_api, webhook_receiver, hook):
    product = make_product(stock=5)
    due = placed_order(customer_api, webhook_receiver, (product, 1))
    waiting = placed_order(customer_api, webhook_receiver, (product, 1))
    Order.objects.filter(id=due["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))

    run()

    [received] = webhook_receiver.received
    data = assert_delivery(received, hook["secret"], ORDER_STATUS_CHANGED)
    assert (data["id"], data["status"], data["expires_at"]) == (due["id"], "expired", None)
    assert data == staff_view(staff_api, due["id"])
    assert staff_view(staff_api, waiting["id"])["status"] == "pending"

    run()  # safe twice: nothing more to expire, nothing more sent
    assert len(webhook_receiver.received) == 1


def test_a_return_of_every_unit_delivers_return_recorded_then_status_changed_to_returned(
    customer_api, staff_api, webhook_receiver, hook
):
    mug, cap = make_product(stock=10), make_product(stock=10)
    order = placed_order(customer_api, webhook_receiver, (mug, 2), (cap, 1))
    walk(staff_api, order["id"], "paid", "shipped", "delivered")
    webhook_receiver.received.clear()

    lines = [{"product_id": mug.id, "quantity": 2}, {"product_id": cap.id, "quantity": 1}]
    response = staff_api.post(order_url(order["id"], "returns"), {"lines": lines}, format="json")

    assert response.status_code == 201, response.content
    assert types(webhook_receiver.received) == [ORDER_RETURN_RECORDED, ORDER_STATUS_CHANGED]
    recorded, returned = webhook_receiver.received
    before = assert_delivery(recorded, hook["secret"], ORDER_RETURN_RECORDED)
    after = assert_delivery(returned, hook["secret"], ORDER_STATUS_CHANGED)
    assert before["status"] == "delivered" and after["status"] == "returned"
    assert [line["returned_quantity"] for line in before["lines"]] == [2, 1]
    assert before["refunded_total"] == after["refunded_total"] == order["total"]
    assert after == staff_view(staff_api, order["id"])
    assert recorded.event_id != returned.event_id


def test_a_partial_return_delivers_return_recorded_and_no_status_change_until_the_last_unit(
    customer_api, staff_api, webhook_receiver, hook
):
    mug = make_product(stock=10)
    order = placed_order(customer_api, webhook_receiver, (mug, 3))
    walk(staff_api, order["id"], "paid", "shipped", "delivered")
    webhook_receiver.received.clear()

    response = staff_api.post(
        order_url(order["id"], "returns"), {"lines": [{"product_id": mug.id, "quantity": 1}]}, format="json"
    )

    assert response.status_code == 201, response.content
    [received] = webhook_receiver.received
    data = assert_delivery(received, hook["secret"], ORDER_RETURN_RECORDED)
    assert data["status"] == "delivered" and data["lines"][0]["returned_quantity"] == 1
    assert data["refunded_total"] == response.json()["refund_total"]
    assert data == staff_view(staff_api, order["id"])

    webhook_receiver.received.clear()
    rest = staff_api.post(
        order_url(order["id"], "returns"), {"lines": [{"product_id": mug.id, "quantity": 2}]}, format="json"
    )
    assert rest.status_code == 201, rest.content
    assert types(webhook_receiver.received) == [ORDER_RETURN_RECORDED, ORDER_STATUS_CHANGED]
    assert webhook_receiver.received[1].json["data"]["status"] == "returned"


def test_a_refused_transition_sends_nothing(customer_api, staff_api, webhook_receiver, hook):
    order = placed_order(customer_api, webhook_receiver, (make_product(stock=5), 1))

    response = staff_api.post(order_url(order["id"], "transition"), {"status": "shipped"}, format="json")

    assert response.status_code == 409
    assert webhook_receiver.received == [] and WebhookEvent.objects.count() == 1  # the placed one


# --- Subscriptions ---------------------------------------------------------------------


def test_an_endpoint_gets_only_the_event_types_it_subscribes_to(customer_api, staff_api, webhook_receiver):
    stock_only = subscribe(staff_api, webhook_receiver.url, PRODUCT_STOCK_LOW)
    product = make_product(stock=6, low_stock_threshold=5)

    order = place(customer_api, (product, 1)).json()  # 6 → 5: not below
    walk(staff_api, order["id"], "paid")
    customer_api.post(order_url(order["id"], "cancel"))
    assert webhook_receiver.received == []
    assert not WebhookEvent.objects.exists() and not WebhookDelivery.objects.exists()

    place(customer_api, (product, 2))  # 6 → 4

    [received] = webhook_receiver.received
    assert assert_delivery(received, stock_only["secret"], PRODUCT_STOCK_LOW)["stock"] == 4


def test_two_endpoints_get_one_delivery_each_of_the_same_event(
    customer_api, staff_api, webhook_receiver, second_receiver
):
    first = subscribe(staff_api, webhook_receiver.url, ORDER_PLACED)
    second = subscribe(staff_api, second_receiver.url, ORDER_PLACED, ORDER_STATUS_CHANGED)

    place(customer_api, (make_product(), 1))

    [one], [other] = webhook_receiver.received, second_receiver.received
    assert one.body == other.body and one.event_id == other.event_id
    assert_delivery(one, first["secret"], ORDER_PLACED)
    assert_delivery(other, second["secret"], ORDER_PLACED)
    assert not verifies(one, *_first_signature(one), second["secret"])  # each signed with its own secret
    event = WebhookEvent.objects.get()
    assert sorted(WebhookDelivery.objects.values_list("endpoint_id", "event_id")) == [
        (first["id"], event.public_id),
        (second["id"], event.public_id),
    ]
    assert all_succeeded()


def _first_signature(received) -> tuple[str, str]:
    t, v1s = signatures(received)
    return t, v1s[0]


def test_an_inactive_endpoint_gets_nothing(customer_api, staff_api, webhook_receiver, second_receiver):
    subscribe(staff_api, webhook_receiver.url, is_active=False)
    paused = subscribe(staff_api, second_receiver.url)
    assert staff_api.patch(f"{WEBHOOKS}{paused['id']}/", {"is_active": False}, format="json").status_code == 200

    order = place(customer_api, (make_product(stock=6, low_stock_threshold=5), 2)).json()
    walk(staff_api, order["id"], "paid")

    assert webhook_receiver.received == [] and second_receiver.received == []
    assert not WebhookEvent.objects.exists() and not WebhookDelivery.objects.exists()


def test_an_endpoint_registered_a_moment_ago_gets_the_next_event(customer_api, staff_api, webhook_receiver):
    product = make_product(stock=10)
    place(customer_api, (product, 1))  # no endpoint yet: whatever could be cached says "none"

    hook = subscribe(staff_api, webhook_receiver.url, ORDER_PLACED)
    second = place(customer_api, (product, 1))

    [received] = webhook_receiver.received
    assert assert_delivery(received, hook["secret"], ORDER_PLACED)["id"] == second.json()["id"]


def test_an_endpoint_switched_on_behind_the_apps_back_gets_the_next_event(customer_api, staff_api, webhook_receiver):
    """As if another process had changed it: a queryset update, no signal, no service."""
    hook = subscribe(staff_api, webhook_receiver.url, ORDER_PLACED, is_active=False)
    product = make_product(stock=10)
    place(customer_api, (product, 1))
    assert webhook_receiver.received == []

    WebhookEndpoint.objects.filter(id=hook["id"]).update(is_active=True)
    place(customer_api, (product, 1))
    assert types(webhook_receiver.received) == [ORDER_PLACED]

    WebhookEndpoint.objects.filter(id=hook["id"]).update(events=[ORDER_STATUS_CHANGED])
    place(customer_api, (product, 1))
    assert types(webhook_receiver.received) == [ORDER_PLACED]


# --- Rollback: the events of a change that rolls back are never written nor sent -----------


def test_an_order_refused_for_stock_writes_and_sends_no_event(customer_api, webhook_receiver, hook):
    running_low = make_product(stock=6, low_stock_threshold=5)  # this line alone would cross
    short = make_product(stock=1)

    response = place(customer_api, (running_low, 2), (short, 2))

    assert response.status_code == 409, response.content
    assert [e["code"] for e in response.json()["errors"]] == ["insufficient_stock"]
    assert webhook_receiver.received == []
    assert not WebhookEvent.objects.exists() and not WebhookDelivery.objects.exists()


def test_an_order_placed_in_a_transaction_that_rolls_back_sends_nothing(customer, webhook_receiver, hook):
    running_low = make_product(stock=6, low_stock_threshold=5)
    draft = OrderDraft((DraftLine(running_low.id, 2),))

    with pytest.raises(RuntimeError), transaction.atomic():
        services.order_place(customer=customer, draft=draft)
        assert WebhookEvent.objects.count() == 2  # order.placed and product.stock_low, written in it
        raise RuntimeError("something after the order failed")

    assert webhook_receiver.received == []
    assert not WebhookEvent.objects.exists() and not WebhookDelivery.objects.exists()
    assert not Order.objects.exists()


# --- No subscriber: one small query, nothing written, nothing published ----------------------


@pytest.fixture
def published(queue) -> Iterator[list[str]]:
    """The names of the tasks really published to the broker (not run eagerly) during the test."""
    names: list[str] = []

    def record(sender: str, **kwargs: Any) -> None:
        names.append(sender)

    before_task_publish.connect(record, weak=False)
    yield names
    before_task_publish.disconnect(record)


def _touching(queries: list[dict[str, Any]], model: Any) -> list[str]:
    table = model._meta.db_table
    return [q["sql"] for q in queries if re.search(rf"\b{table}\b", q["sql"])]


@pytest.mark.parametrize("endpoints", ["none", "not_subscribed"])
def test_an_order_no_endpoint_subscribes_to_costs_one_query_and_writes_and_publishes_nothing(
    endpoints, customer_api, staff_api, webhook_receiver, published
):
    if endpoints == "not_subscribed":
        subscribe(staff_api, webhook_receiver.url, PRODUCT_STOCK_LOW, ORDER_STATUS_CHANGED)
        subscribe(staff_api, webhook_receiver.url, ORDER_PLACED, is_active=False)
    product = make_product(stock=10)

    with CaptureQueriesContext(connection) as queries:
        response = place(customer_api, (product, 1))

    assert response.status_code == 201, response.content
    [endpoints_read] = _touching(queries.captured_queries, WebhookEndpoint)
    if connection.vendor == "postgresql":  # no round trip of its own: it rides the order's statement
        assert re.search(rf'INSERT INTO "{Order._meta.db_table}"', endpoints_read)
    assert _touching(queries.captured_queries, WebhookEvent) == []
    assert _touching(queries.captured_queries, WebhookDelivery) == []
    assert not WebhookEvent.objects.exists() and not WebhookDelivery.objects.exists()
    assert webhook_receiver.received == []
    assert any(name.startswith("notifications.tasks.outbox_") for name in published)  # publishing is real here
    assert DELIVER_TASK not in published


def test_an_order_with_subscribers_publishes_its_deliveries(customer_api, staff_api, webhook_receiver, published):
    """The other side of the test above: the same recorder sees the webhook task when there is a delivery."""
    subscribe(staff_api, webhook_receiver.url, ORDER_PLACED)

    place(customer_api, (make_product(), 1))

    assert published.count(DELIVER_TASK) == 1


# --- With endpoints: the events and their deliveries in one statement ----------------------


def test_the_events_and_their_deliveries_are_written_in_one_statement(
    customer_api, staff_api, webhook_receiver, second_receiver
):
    subscribe(staff_api, webhook_receiver.url)
    subscribe(staff_api, second_receiver.url)
    product = make_product(stock=10)

    with CaptureQueriesContext(connection) as queries:
        response = place(customer_api, (product, 1))

    assert response.status_code == 201, response.content
    inserts = [
        sql for sql in _touching(queries.captured_queries, WebhookEvent) if sql.lstrip().startswith(("WITH", "INSERT"))
    ]
    delivery_inserts = [
        sql
        for sql in _touching(queries.captured_queries, WebhookDelivery)
        if re.search(rf'INSERT INTO "?{WebhookDelivery._meta.db_table}"?', sql)
    ]
    if connection.vendor == "postgresql":
        [statement] = inserts
        assert re.search(rf'INSERT INTO "{WebhookDelivery._meta.db_table}"', statement)
        assert delivery_inserts == [statement]
    else:  # SQLite has no writable CTEs: one statement each
        assert len(inserts) == len(delivery_inserts) == 1
    assert WebhookDelivery.objects.count() == 2 and len(webhook_receiver.received) == len(second_receiver.received) == 1


# --- Secret rotation ----------------------------------------------------------------------


def test_after_a_rotation_deliveries_are_signed_with_both_secrets_for_24_hours(
    customer_api, staff_api, webhook_receiver
):
    hook = subscribe(staff_api, webhook_receiver.url, ORDER_PLACED)
    old = hook["secret"]
    product = make_product(stock=10)
    rotated = staff_api.post(f"{WEBHOOKS}{hook['id']}/rotate-secret/")
    assert rotated.status_code == 200, rotated.content
    new = rotated.json()["secret"]
    assert new != old and new.startswith("whsec_")

    place(customer_api, (product, 1))

    [during] = webhook_receiver.received
    t, v1s = signatures(during)
    assert len(v1s) == 2
    assert [verifies(during, t, v1, new) for v1 in v1s] == [True, False]
    assert [verifies(during, t, v1, old) for v1 in v1s] == [False, True]
    assert_delivery(during, new, ORDER_PLACED) and assert_delivery(during, old, ORDER_PLACED)

    WebhookEndpoint.objects.filter(id=hook["id"]).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    webhook_receiver.received.clear()
    place(customer_api, (product, 1))

    [after] = webhook_receiver.received
    t, v1s = signatures(after)
    assert len(v1s) == 1
    assert verifies(after, t, v1s[0], new) and not verifies(after, t, v1s[0], old)
