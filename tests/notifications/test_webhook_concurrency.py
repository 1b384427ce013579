"""Webhooks under real concurrency, on PostgreSQL: orders placed at once
each produce exactly one event, and workers delivering side by side never
send one delivery twice at the same time."""

import itertools
from collections import Counter

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from notifications import webhooks
from notifications.models import WebhookAttempt, WebhookDelivery, WebhookEvent
from notifications.tasks import webhooks_dispatch_task
from tests.conftest import bearer, requires_postgres
from tests.factories import UserFactory, make_product
from tests.support.threads import run_together

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

ORDERS = 20


def test_twenty_concurrent_orders_make_twenty_placed_events_and_no_duplicate_delivery(webhook_receiver):
    webhooks.endpoint_create(url=webhook_receiver.url, events=["order.placed"])
    product = make_product(stock=ORDERS)
    customers = iter([UserFactory.create() for _ in range(ORDERS)])
    order_ids: list[int] = []

    def place() -> int:
        response = bearer(APIClient(), next(customers)).post(
            "/api/v1/orders/", {"lines": [{"product_id": product.id, "quantity": 1}]}, format="json"
        )
        assert response.status_code == 201, response.content
        order_ids.append(response.json()["id"])
        return response.status_code

    assert run_together(place, threads=ORDERS) == [201] * ORDERS
    # Each was tried after its commit, but never more than WEBHOOK_MAX_IN_FLIGHT
    # at once: the rest wait a moment for the dispatcher.
    pending = WebhookDelivery.objects.filter(status="pending")
    for _ in range(ORDERS):
        if not pending.exists():
            break
        pending.update(next_attempt_at=timezone.now())
        webhooks_dispatch_task()

    events = list(WebhookEvent.objects.filter(type="order.placed"))
    assert len(events) == ORDERS
    deliveries = list(WebhookDelivery.objects.values_list("event_id", "status"))
    assert Counter(event_id for event_id, _ in deliveries) == Counter({e.public_id: 1 for e in events})
    assert {status for _, status in deliveries} == {"succeeded"}
    seen = webhook_receiver.events("order.placed")
    assert sorted(r.json["data"]["id"] for r in seen) == sorted(order_ids)
    assert len({r.event_id for r in seen}) == ORDERS


def test_workers_delivering_side_by_side_make_one_attempt_at_a_time_per_delivery(webhook_receiver, customer_api):
    webhook_receiver.stop()  # the events wait, pending
    webhooks.endpoint_create(url=webhook_receiver.url, events=["order.placed"])
    product = make_product(stock=50)
    for _ in range(10):
        assert (
            customer_api.post(
                "/api/v1/orders/", {"lines": [{"product_id": product.id, "quantity": 1}]}, format="json"
            ).status_code
            == 201
        )
    webhook_receiver.start()
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())
    ids = list(WebhookDelivery.objects.values_list("id", flat=True))
    rounds = itertools.count()

    def deliver_all() -> int:
        next(rounds)
        return sum(webhooks.webhook_deliver(delivery_id=i) is not None for i in ids)

    with_settings_in_flight = 100  # the per-endpoint bound is not what this test is about
    from django.conf import settings

    before, settings.WEBHOOK_MAX_IN_FLIGHT = settings.WEBHOOK_MAX_IN_FLIGHT, with_settings_in_flight
    try:
        sent = run_together(deliver_all, threads=4)
    finally:
        settings.WEBHOOK_MAX_IN_FLIGHT = before

    assert sum(sent) == len(ids)  # each delivery attempted by exactly one of the four
    seen = webhook_receiver.events("order.placed")
    assert len(seen) == len(ids) and len({r.event_id for r in seen}) == len(ids)
    # attempt 1 (receiver down) and attempt 2 (this round), each logged once
    numbers = Counter(WebhookAttempt.objects.values_list("delivery_id", "number"))
    assert set(numbers.values()) == {1} and len(numbers) == 2 * len(ids)


def test_an_endpoint_deleted_while_an_order_commits_never_fails_the_order(webhook_receiver, customer):
    """The order read its subscribers, then the endpoint was deleted and
    committed before the order did: the order commits all the same, and
    the delivery it wrote to the endpoint that is gone is dropped unsent."""
    from django.db import transaction

    from orders import services as order_services
    from orders.domain.placement import DraftLine, OrderDraft
    from orders.models import Order

    endpoint = webhooks.endpoint_create(url=webhook_receiver.url, events=["order.placed"])
    product = make_product(stock=5)
    with transaction.atomic():
        placed = order_services.order_place(customer=customer, draft=OrderDraft(lines=(DraftLine(product.id, 1),)))
        run_together(lambda: webhooks.endpoint_delete(endpoint_id=endpoint.id), threads=1)

    assert Order.objects.filter(id=placed.order.id).exists()
    assert webhook_receiver.events() == []  # tried after commit: no endpoint, dropped
    assert not WebhookDelivery.objects.exists()
