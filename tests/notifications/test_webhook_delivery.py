"""Webhook delivery against a real receiver on 127.0.0.1: at least once,
the same id and bytes on every attempt, retried with backoff for days,
through a receiver that is down, never to an address that was not checked,
and never more than a few attempts at once to one endpoint."""

import socket
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from notifications import webhooks
from notifications.domain.signing import verify_signature
from notifications.models import OutboxEmail, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from notifications.tasks import webhooks_dispatch_task, webhooks_purge_task
from tests.factories import UserFactory, make_product

pytestmark = pytest.mark.django_db(transaction=True)


def subscribe(url: str, events: tuple[str, ...] = ("order.placed",)) -> WebhookEndpoint:
    return webhooks.endpoint_create(url=url, events=list(events))


def place(api, product, quantity: int = 1) -> int:
    response = api.post("/api/v1/orders/", {"lines": [{"product_id": product.id, "quantity": quantity}]}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def make_all_due() -> None:
    WebhookDelivery.objects.filter(status="pending").update(next_attempt_at=timezone.now(), leased_until=None)


def test_a_placed_order_reaches_the_receiver_signed_with_the_endpoint_secret(webhook_receiver, customer_api):
    endpoint = subscribe(webhook_receiver.url)
    order_id = place(customer_api, make_product(stock=5))

    (seen,) = webhook_receiver.events("order.placed")
    assert seen.path == "/hooks"
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.json["data"]["id"] == order_id
    assert seen.event_id == seen.json["id"]
    header = seen.headers["Stockroom-Signature"]
    now = int(timezone.now().timestamp())
    assert verify_signature(seen.body, header, endpoint.secret, now=now)
    assert not verify_signature(seen.body, header, "whsec_" + "x" * 43, now=now)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None


def test_a_receiver_that_answers_500_then_200_gets_the_same_event_twice(webhook_receiver, customer_api):
    webhook_receiver.answer(500, 200)
    subscribe(webhook_receiver.url)
    place(customer_api, make_product(stock=5))

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status_code, delivery.last_error) == ("pending", 500, "answered 500")
    retry_in = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 0 < retry_in <= 30.5  # the first retry: within the backoff's base (WEBHOOK_RETRY_BASE_SECONDS)

    make_all_due()
    assert webhooks_dispatch_task() == 1

    first, second = webhook_receiver.events()
    assert first.event_id == second.event_id
    assert first.body == second.body  # byte-identical
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 2, 200)
    attempts = list(WebhookAttempt.objects.filter(delivery=delivery).values_list("number", "status_code", "error"))
    assert attempts == [(1, 500, "answered 500"), (2, 200, "")]


def test_a_receiver_down_while_orders_are_placed_gets_every_event_once_it_is_up(webhook_receiver, customer_api):
    subscribe(webhook_receiver.url)
    webhook_receiver.stop()
    product = make_product(stock=50)
    order_ids = {place(customer_api, product) for _ in range(5)}

    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"pending"}
    assert all("refused" in e for e in WebhookAttempt.objects.values_list("error", flat=True))

    webhook_receiver.start()
    make_all_due()
    webhooks_dispatch_task()

    seen = webhook_receiver.events("order.placed")
    assert {r.json["data"]["id"] for r in seen} == order_ids
    assert {r.event_id for r in seen} == set(WebhookEvent.objects.values_list("public_id", flat=True))
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_a_delivery_is_retried_for_72_hours_then_failed(webhook_receiver, customer_api, settings):
    webhook_receiver.answer(503)
    subscribe(webhook_receiver.url)
    place(customer_api, make_product(stock=5))
    delivery = WebhookDelivery.objects.get()

    WebhookDelivery.objects.update(created_at=timezone.now() - timedelta(hours=71, minutes=59))
    make_all_due()
    webhooks_dispatch_task()
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert delivery.next_attempt_at <= timezone.now() + timedelta(seconds=settings.WEBHOOK_RETRY_CAP_SECONDS)

    WebhookDelivery.objects.update(created_at=timezone.now() - timedelta(hours=72, seconds=1))
    make_all_due()
    webhooks_dispatch_task()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 3, None)
    assert len(webhook_receiver.events()) == 3


def test_a_redirect_is_never_followed_and_counts_as_a_failure(webhook_receiver, customer_api):
    webhook_receiver.answer(302)
    subscribe(webhook_receiver.url)
    place(customer_api, make_product(stock=5))
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == ("pending", 302)
    assert len(webhook_receiver.events()) == 1


def test_a_host_that_now_resolves_to_a_private_address_is_refused_at_delivery(
    webhook_receiver, customer_api, settings, monkeypatch
):
    """Registered while it resolved to a public address; at delivery it
    resolves to 127.0.0.1 (where the receiver listens): nothing is sent."""
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    real = socket.getaddrinfo
    answer = {"hooks.example": "93.184.216.34"}

    def resolve(host, port, *args, **kwargs):
        if host in answer:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    endpoint = subscribe(f"http://hooks.example:{webhook_receiver.port}/hooks")
    answer["hooks.example"] = "127.0.0.1"  # the DNS changed since

    place(customer_api, make_product(stock=5))

    assert webhook_receiver.events() == []
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "pending" and delivery.last_status_code is None
    assert "forbidden address 127.0.0.1" in delivery.last_error


def test_registration_refuses_a_host_that_resolves_to_a_private_address(settings, staff_api):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    response = staff_api.post(
        "/api/v1/webhooks/", {"url": "http://localhost:9/hooks", "events": ["order.placed"]}, format="json"
    )
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert (error["code"], error["attr"]) == ("url_not_allowed", "url")
    assert not WebhookEndpoint.objects.exists()


def test_an_endpoint_with_attempts_under_way_waits_while_another_is_served(webhook_receiver, customer_api, settings):
    """WEBHOOK_MAX_IN_FLIGHT attempts to one endpoint at once: a slow
    receiver holds that many workers, its other deliveries wait their turn
    and another endpoint's deliveries go on."""
    settings.WEBHOOK_MAX_IN_FLIGHT = 2
    slow = subscribe(webhook_receiver.url + "/slow")
    webhook_receiver.stop()  # the deliveries to both wait, pending
    other = subscribe(webhook_receiver.url + "/other")
    WebhookEndpoint.objects.filter(id=other.id).update(is_active=False)
    product = make_product(stock=50)
    for _ in range(3):
        place(customer_api, product)
    WebhookEndpoint.objects.filter(id=other.id).update(is_active=True)
    place(customer_api, product)  # one for each endpoint
    webhook_receiver.start()

    # Two attempts to the slow endpoint are under way (leased by workers).
    held = list(WebhookDelivery.objects.filter(endpoint=slow).order_by("id")[:2])
    WebhookDelivery.objects.filter(id__in=[d.id for d in held]).update(
        leased_until=timezone.now() + timedelta(seconds=60)
    )
    waiting = WebhookDelivery.objects.filter(endpoint=slow).exclude(id__in=[d.id for d in held])
    assert waiting.count() == 2

    for delivery in waiting:
        assert webhooks.webhook_deliver(delivery_id=delivery.id) is None  # not sent: its turn comes
        delivery.refresh_from_db()
        assert delivery.status == "pending" and delivery.leased_until is None
        assert delivery.next_attempt_at <= timezone.now() + timedelta(seconds=settings.WEBHOOK_BUSY_WAIT_SECONDS)
    (other_delivery,) = WebhookDelivery.objects.filter(endpoint=other)
    assert webhooks.webhook_deliver(delivery_id=other_delivery.id).value == "succeeded"
    assert [r.path for r in webhook_receiver.events()] == ["/hooks/other"]


def test_a_delivery_leased_by_another_worker_is_not_sent_twice(webhook_receiver, customer_api):
    webhook_receiver.stop()
    subscribe(webhook_receiver.url)
    place(customer_api, make_product(stock=5))
    webhook_receiver.start()
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.update(leased_until=timezone.now() + timedelta(seconds=60), next_attempt_at=timezone.now())

    assert webhooks.webhook_deliver(delivery_id=delivery.id) is None
    assert webhooks_dispatch_task() == 0  # not due before its lease ends
    assert webhook_receiver.events() == []


def test_an_endpoint_failing_for_72_hours_is_set_inactive_and_staff_are_emailed(webhook_receiver, customer_api):
    webhook_receiver.answer(500)
    staff = UserFactory.create(is_staff=True, email="ops@example.com")
    endpoint = subscribe(webhook_receiver.url)
    place(customer_api, make_product(stock=5))
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None

    WebhookEndpoint.objects.update(failing_since=timezone.now() - timedelta(hours=71))
    webhooks_dispatch_task()
    endpoint.refresh_from_db()
    assert endpoint.is_active

    WebhookEndpoint.objects.update(failing_since=timezone.now() - timedelta(hours=72, seconds=1))
    mail.outbox.clear()
    webhooks_dispatch_task()
    endpoint.refresh_from_db()
    assert not endpoint.is_active and "every delivery failed since" in endpoint.disabled_reason
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"failed"}  # its log stays
    (email,) = OutboxEmail.objects.filter(kind="webhook_disabled")
    assert email.to == staff.email and webhook_receiver.url in str(email.context)

    before = len(webhook_receiver.events())
    place(customer_api, make_product(stock=5))
    assert len(webhook_receiver.events()) == before  # an inactive endpoint gets nothing new


def test_one_success_stops_the_endpoints_failure_clock(webhook_receiver, customer_api):
    webhook_receiver.answer(500, 200)
    endpoint = subscribe(webhook_receiver.url)
    place(customer_api, make_product(stock=5))
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None
    make_all_due()
    webhooks_dispatch_task()
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_deliveries_and_events_older_than_30_days_are_purged(webhook_receiver, customer_api):
    subscribe(webhook_receiver.url)
    product = make_product(stock=5)
    place(customer_api, product)
    old_delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.update(created_at=timezone.now() - timedelta(days=31))
    WebhookEvent.objects.update(created_at=timezone.now() - timedelta(days=31))
    place(customer_api, product)

    assert webhooks_purge_task() == 1

    assert not WebhookDelivery.objects.filter(id=old_delivery.id).exists()
    assert not WebhookAttempt.objects.filter(delivery_id=old_delivery.id).exists()
    assert not WebhookEvent.objects.filter(public_id=old_delivery.event_id).exists()
    assert WebhookDelivery.objects.count() == 1 and WebhookEvent.objects.count() == 1


def test_a_delivery_whose_endpoint_is_deleted_mid_attempt_records_nothing(webhook_receiver, customer_api):
    endpoint = subscribe(webhook_receiver.url)
    webhook_receiver.on_request = lambda: webhooks.endpoint_delete(endpoint_id=endpoint.id)

    place(customer_api, make_product(stock=5))  # delivered, and its endpoint deleted meanwhile

    assert len(webhook_receiver.events()) == 1
    assert not WebhookEndpoint.objects.exists()
    assert not WebhookDelivery.objects.exists() and not WebhookAttempt.objects.exists()
