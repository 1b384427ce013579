"""Webhooks through outages, on the real stack (gunicorn, a Celery worker
run as the contract names it — no -Q: it consumes the webhook queue too —
and beat, over PostgreSQL, Redis and RabbitMQ): orders placed while the
receiver is down, and while the broker is down at commit, each reach the
receiver once everything is back, with no order coming after to carry
them; and an order that fails sends nothing."""

import uuid

import pytest

from notifications import webhooks
from notifications.models import WebhookDelivery, WebhookEvent
from tests.factories import make_product
from tests.faults.stack import needs_services, place_order
from tests.support.services import wait_for
from tests.support.webhooks import WebhookReceiver

pytestmark = [needs_services, pytest.mark.django_db(transaction=True)]


def test_every_placed_order_reaches_the_receiver_through_its_outage_and_the_brokers(stack, shop, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True  # for this process's check at registration
    receiver = WebhookReceiver()
    webhooks.endpoint_create(url=receiver.url, events=["order.placed"])
    product_id = next(iter(shop.stock))
    token = shop.tokens[0]

    def place(n: int) -> list[int]:
        outcomes = [place_order(stack.base, token, [{"product_id": product_id, "quantity": 1}], str(uuid.uuid4()))]
        outcomes += [
            place_order(stack.base, token, [{"product_id": product_id, "quantity": 1}], str(uuid.uuid4()))
            for _ in range(n - 1)
        ]
        assert [o.status for o in outcomes] == [201] * n, outcomes
        return [o.body["id"] for o in outcomes]

    placed = place(3)  # the receiver is not listening: refused, retried
    stack.broker.down()  # the broker is down at commit: nothing is published
    placed += place(3)
    scarce = make_product(stock=1)
    refused = place_order(stack.base, token, [{"product_id": scarce.id, "quantity": 2}], str(uuid.uuid4()))
    assert refused.status == 409  # rolled back: no event
    stack.broker.forward()
    receiver.start()
    try:
        arrived = wait_for(lambda: len({r.json["data"]["id"] for r in receiver.events()}) >= len(placed), timeout=60)
        assert arrived, stack.log_tails()
        seen = receiver.events("order.placed")
        assert {r.json["data"]["id"] for r in seen} == set(placed)
        assert wait_for(lambda: not WebhookDelivery.objects.exclude(status="succeeded").exists(), timeout=15)
        # One event per order, one delivery per event; a repeat is the same id and bytes.
        assert WebhookEvent.objects.count() == len(placed) == WebhookDelivery.objects.count()
        bodies: dict[str, bytes] = {}
        for received in seen:
            assert bodies.setdefault(received.event_id, received.body) == received.body
        print(f"webhooks: {len(placed)} orders, {len(seen)} requests received, {len(bodies)} distinct events")
    finally:
        receiver.stop()
