"""A slow webhook receiver never holds up email: a real worker started as
the contract names it (`celery -A config worker`, its default prefork pool
of two, consuming both queues), a receiver that takes seconds to answer
each event, and WEBHOOK_MAX_IN_FLIGHT=1. The confirmation emails of every
order arrive while the receiver is still working through their events.
Needs PostgreSQL (the worker reads the test database) and a broker."""

import os
import time

import pytest

from notifications import webhooks
from notifications.models import WebhookDelivery
from tests.conftest import ON_POSTGRES
from tests.factories import make_product
from tests.support.services import celery_process, wait_for
from tests.support.webhooks import WebhookReceiver

BROKER = os.environ.get("CELERY_BROKER_URL", "")
pytestmark = [
    pytest.mark.skipif(not (ON_POSTGRES and BROKER), reason="needs DATABASE_URL=postgres://… and CELERY_BROKER_URL"),
    pytest.mark.django_db(transaction=True),
]

ORDERS = 4
ANSWER_AFTER = 4.0  # seconds the receiver takes over each event


def test_email_goes_out_while_a_slow_receiver_works_through_its_events(customer_api, sink, queue, tmp_path, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    receiver = WebhookReceiver().start()
    receiver.on_request = lambda: time.sleep(ANSWER_AFTER)
    webhooks.endpoint_create(url=receiver.url, events=["order.placed"])
    env = {
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink.port),
        "WEBHOOK_ALLOW_PRIVATE_HOSTS": "true",
        "WEBHOOK_MAX_IN_FLIGHT": "1",
        "WEBHOOK_BUSY_WAIT_SECONDS": "0.5",
    }
    try:
        with celery_process("worker", queue=queue, env=env, tmp_path=tmp_path, pool=("--concurrency=2",)):
            product = make_product(stock=ORDERS)
            for _ in range(ORDERS):
                response = customer_api.post(
                    "/api/v1/orders/", {"lines": [{"product_id": product.id, "quantity": 1}]}, format="json"
                )
                assert response.status_code == 201, response.content

            assert wait_for(lambda: len(sink.messages) >= ORDERS, timeout=ANSWER_AFTER * ORDERS)
            answered = len(receiver.events())
            # One event at a time to that endpoint: most are still waiting for it.
            assert answered <= 2, answered
            assert WebhookDelivery.objects.filter(status="pending").count() >= ORDERS - 2
            print(f"{len(sink.messages)} emails sent while the slow receiver had {answered} of {ORDERS} events")
    finally:
        receiver.stop()
