"""Webhooks in the admin: endpoints managed through the same services as the
API, the secret shown once, the delivery log read-only, redelivery."""

import html
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client

from notifications import webhooks
from notifications.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from tests.factories import UserFactory, make_product
from tests.support.admin import change_form_data
from users.models import User

pytestmark = pytest.mark.django_db

ENDPOINTS = "/admin/notifications/webhookendpoint/"
DELIVERIES = "/admin/notifications/webhookdelivery/"
UNRESOLVABLE = "http://nonexistent.invalid/hook"
NO_INLINE_ROWS = {
    "deliveries-TOTAL_FORMS": "0",
    "deliveries-INITIAL_FORMS": "0",
    "deliveries-MIN_NUM_FORMS": "0",
    "deliveries-MAX_NUM_FORMS": "0",
}


@pytest.fixture
def admin_client(superuser: User) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def change_url(obj: Any) -> str:
    return f"/admin/notifications/{obj._meta.model_name}/{obj.pk}/change/"


def add_form(url: str = UNRESOLVABLE, events: tuple[str, ...] = ("order.placed",), **extra: str) -> dict[str, Any]:
    return {"url": url, "events": list(events), "description": "", "is_active": "on", **NO_INLINE_ROWS, **extra}


def result_ids(response: Any) -> set[int]:
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


def endpoint_at(url: str, *events: str) -> WebhookEndpoint:
    return webhooks.endpoint_create(url=url, events=events or ("order.placed",))


def place_order(customer: User, commit: Callable[[Callable[[], Any]], Any]) -> None:
    from orders import services
    from orders.domain.placement import DraftLine, OrderDraft

    product = make_product(stock=100)
    commit(lambda: services.order_place(customer=customer, draft=OrderDraft((DraftLine(product.id, 1),))))


# --- Endpoints: add, the secret once -------------------------------------------------


def test_adding_an_endpoint_shows_its_secret_once_then_only_its_last_four(admin_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    r = admin_client.post(
        ENDPOINTS + "add/",
        add_form(events=("product.stock_low", "order.placed"), description="ERP"),
        follow=True,
    )
    assert r.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    # Made by the service: pinned to today's version, with a fresh secret.
    assert (endpoint.url, endpoint.description, endpoint.is_active) == (UNRESOLVABLE, "ERP", True)
    assert sorted(endpoint.events) == ["order.placed", "product.stock_low"]
    assert endpoint.api_version == "2026-12-07"
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) == 49
    shown = [m for m in messages_of(r) if endpoint.secret in m]
    assert len(shown) == 1, messages_of(r)
    assert endpoint.secret in r.content.decode()  # on the page the browser lands on, this once

    hint = f"…{endpoint.secret[-4:]}"
    for page in (
        admin_client.get(change_url(endpoint)),
        admin_client.get(ENDPOINTS),
        admin_client.get(f"{ENDPOINTS}{endpoint.pk}/history/"),
        admin_client.get(ENDPOINTS + f"{endpoint.pk}/delete/"),
    ):
        assert page.status_code == 200
        assert endpoint.secret not in page.content.decode()
        assert endpoint.secret[6:20] not in page.content.decode()
    assert hint in admin_client.get(change_url(endpoint)).content.decode()
    assert hint in admin_client.get(ENDPOINTS).content.decode()


def test_adding_an_endpoint_needs_an_event(admin_client):
    r = admin_client.post(ENDPOINTS + "add/", add_form(events=()))
    assert r.status_code == 200
    assert "events" in r.context["adminform"].form.errors
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1/hook", "http://localhost/", "http://169.254.169.254/", "http://[::1]/", "ftp://x.com/"]
)
def test_the_admin_form_refuses_a_private_or_non_http_url(admin_client, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    r = admin_client.post(ENDPOINTS + "add/", add_form(url=url))
    assert r.status_code == 200
    errors = r.context["adminform"].form.errors.as_data()
    assert [e.code for e in errors["url"]] == ["url_not_allowed"]
    assert not WebhookEndpoint.objects.exists()
    assert not [m for m in messages_of(r) if "whsec_" in m]


def test_the_admin_change_form_refuses_a_private_url_and_keeps_the_old_one(admin_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    endpoint = endpoint_at(UNRESOLVABLE)
    data = change_form_data(admin_client.get(change_url(endpoint)), inline_parent="endpoint")
    data["url"] = "http://10.0.0.1/hook"
    r = admin_client.post(change_url(endpoint), data)
    assert r.status_code == 200
    assert [e.code for e in r.context["adminform"].form.errors.as_data()["url"]] == ["url_not_allowed"]
    endpoint.refresh_from_db()
    assert endpoint.url == UNRESOLVABLE


def test_changing_an_endpoint_in_the_admin_goes_through_the_service(admin_client, customer, webhook_receiver, commit):
    endpoint = endpoint_at(webhook_receiver.url)
    secret = endpoint.secret
    webhook_receiver.answer(500)
    place_order(customer, commit)
    pending = WebhookDelivery.objects.get(endpoint=endpoint)
    assert pending.status == "pending"

    page = admin_client.get(change_url(endpoint))
    assert str(pending.event_id) in page.content.decode()  # the inline lists the recent deliveries
    data = change_form_data(page, inline_parent="endpoint")
    del data["is_active"]
    data["description"] = "paused"
    r = admin_client.post(change_url(endpoint), data, follow=True)
    assert r.status_code == 200
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.description, endpoint.secret) == (False, "paused", secret)
    # Set inactive by the service: what it had pending fails.
    pending.refresh_from_db()
    assert pending.status == "failed"


# --- Endpoint actions ------------------------------------------------------------


def test_the_rotate_action_shows_the_new_secret_in_a_message(admin_client):
    endpoint = endpoint_at(UNRESOLVABLE)
    old = endpoint.secret
    r = admin_client.post(ENDPOINTS, {"action": "rotate_secret", "_selected_action": [endpoint.pk]}, follow=True)
    assert r.status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    assert [m for m in messages_of(r) if endpoint.secret in m]
    assert not [m for m in messages_of(r) if old in m]


def test_the_ping_action_queues_and_sends_a_ping_to_the_selected_endpoint(admin_client, webhook_receiver, commit):
    endpoint = endpoint_at(webhook_receiver.url)
    other = endpoint_at(f"http://127.0.0.1:{webhook_receiver.port}/other")
    r = commit(lambda: admin_client.post(ENDPOINTS, {"action": "send_ping", "_selected_action": [endpoint.pk]}))
    assert r.status_code == 302
    (delivery,) = WebhookDelivery.objects.filter(event_type="ping")
    assert delivery.endpoint_id == endpoint.pk
    assert not WebhookDelivery.objects.filter(endpoint=other).exists()
    ((received),) = webhook_receiver.received
    assert (received.path, received.json["type"], received.event_id) == ("/hooks", "ping", delivery.event_id)


def test_the_ping_action_leaves_a_pending_delivery_until_the_commit(admin_client):
    endpoint = endpoint_at(UNRESOLVABLE)
    r = admin_client.post(ENDPOINTS, {"action": "send_ping", "_selected_action": [endpoint.pk]}, follow=True)
    assert r.status_code == 200
    assert "Ping queued for 1 endpoint(s)." in messages_of(r)
    (delivery,) = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert (delivery.event_type, delivery.status, delivery.attempts) == ("ping", "pending", 0)


# --- Endpoint delete ------------------------------------------------------------------


def test_deleting_an_endpoint_in_the_admin_removes_its_deliveries(admin_client, customer, webhook_receiver, commit):
    endpoint = endpoint_at(webhook_receiver.url)
    kept = endpoint_at(webhook_receiver.url)
    webhook_receiver.answer(500)
    place_order(customer, commit)
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 1
    assert WebhookAttempt.objects.filter(delivery__endpoint=endpoint).count() == 1

    r = admin_client.post(f"{ENDPOINTS}{endpoint.pk}/delete/", {"post": "yes"})
    assert r.status_code == 302
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert not WebhookDelivery.objects.filter(endpoint_id=endpoint.pk).exists()
    assert not WebhookAttempt.objects.filter(delivery__endpoint_id=endpoint.pk).exists()
    assert WebhookDelivery.objects.filter(endpoint=kept).count() == 1


def test_deleting_endpoints_with_the_bulk_action_removes_their_deliveries(admin_client, customer, commit):
    first, second = endpoint_at(UNRESOLVABLE), endpoint_at(UNRESOLVABLE)
    for endpoint in (first, second):
        webhooks.endpoint_ping(endpoint_id=endpoint.pk)
    r = admin_client.post(
        ENDPOINTS, {"action": "delete_selected", "_selected_action": [first.pk, second.pk], "post": "yes"}
    )
    assert r.status_code == 302
    assert not WebhookEndpoint.objects.exists()
    assert not WebhookDelivery.objects.exists()


# --- Deliveries -----------------------------------------------------------------------


@pytest.fixture
def three_deliveries(customer, webhook_receiver, commit, settings) -> dict[str, WebhookDelivery]:
    """An order.placed that succeeded, one that failed, a ping that succeeded."""
    endpoint = endpoint_at(webhook_receiver.url)
    place_order(customer, commit)
    settings.WEBHOOK_RETRY_HOURS = 0  # the first failure is the last
    webhook_receiver.answer(500)
    place_order(customer, commit)
    webhook_receiver.answer(200)
    commit(lambda: webhooks.endpoint_ping(endpoint_id=endpoint.pk))
    by = {(d.event_type, d.status): d for d in WebhookDelivery.objects.all()}
    assert set(by) == {("order.placed", "succeeded"), ("order.placed", "failed"), ("ping", "succeeded")}
    return {
        "placed": by["order.placed", "succeeded"],
        "failed": by["order.placed", "failed"],
        "ping": by["ping", "succeeded"],
    }


def test_the_deliveries_list_filters_on_status_and_event_type(admin_client, three_deliveries):
    d = {name: delivery.pk for name, delivery in three_deliveries.items()}
    assert result_ids(admin_client.get(DELIVERIES)) == set(d.values())
    assert result_ids(admin_client.get(DELIVERIES, {"status__exact": "failed"})) == {d["failed"]}
    assert result_ids(admin_client.get(DELIVERIES, {"status__exact": "succeeded"})) == {d["placed"], d["ping"]}
    assert result_ids(admin_client.get(DELIVERIES, {"event_type": "ping"})) == {d["ping"]}
    assert result_ids(admin_client.get(DELIVERIES, {"event_type": "order.placed", "status__exact": "succeeded"})) == {
        d["placed"]
    }
    page = admin_client.get(DELIVERIES)
    filters = {spec.title for spec in page.context["cl"].filter_specs}
    assert filters == {"status", "event type"}


def test_a_delivery_page_shows_its_attempts_and_the_body(admin_client, webhook_receiver, commit):
    endpoint = endpoint_at(webhook_receiver.url)
    webhook_receiver.answer(503, 200)
    commit(lambda: webhooks.endpoint_ping(endpoint_id=endpoint.pk))
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == ("pending", 503)
    webhooks.webhook_deliver(delivery_id=delivery.pk)  # the retry, as the worker makes it
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)

    page = admin_client.get(change_url(delivery))
    assert page.status_code == 200
    (attempts,) = [i for i in page.context["inline_admin_formsets"] if i.formset.model is WebhookAttempt]
    assert [(f.instance.number, f.instance.status_code) for f in attempts.formset.forms] == [(1, 503), (2, 200)]
    text = page.content.decode()
    assert "answered 503" in text
    body = WebhookEvent.objects.get(public_id=delivery.event_id).body
    assert html.escape(body) in text
    assert webhook_receiver.received[0].body.decode() == body


def test_the_redeliver_action_makes_a_new_delivery_of_the_same_event(
    admin_client, three_deliveries, webhook_receiver, commit
):
    failed = three_deliveries["failed"]
    before = len(webhook_receiver.received)
    r = commit(lambda: admin_client.post(DELIVERIES, {"action": "redeliver", "_selected_action": [failed.pk]}))
    assert r.status_code == 302
    (new,) = WebhookDelivery.objects.filter(event_id=failed.event_id).exclude(pk=failed.pk)
    assert (new.endpoint_id, new.event_type, new.status) == (failed.endpoint_id, "order.placed", "succeeded")
    failed.refresh_from_db()
    assert failed.status == "failed"  # the old one stays as it was, beside the new one
    (again,) = webhook_receiver.received[before:]
    assert again.event_id == failed.event_id
    assert again.body.decode() == WebhookEvent.objects.get(public_id=failed.event_id).body


def test_deliveries_are_read_only(admin_client, three_deliveries):
    delivery = three_deliveries["failed"]
    assert admin_client.get(DELIVERIES + "add/").status_code == 403
    assert admin_client.get(change_url(delivery)).status_code == 200
    r = admin_client.post(change_url(delivery), {"status": "succeeded", "attempts": "0"})
    assert r.status_code == 403
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    page = admin_client.get(change_url(delivery)).content.decode()
    assert 'name="_save"' not in page


# --- Who may act -------------------------------------------------------------------------


def staff_with(*codenames: str) -> User:
    user = UserFactory.create(is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="notifications", codename__in=codenames)
    )
    return user


def actions_offered(client: Client, changelist: str) -> list[str]:
    form = client.get(changelist).context["action_form"]
    return [] if form is None else [name for name, _ in form.fields["action"].choices if name]


def test_staff_who_may_only_view_endpoints_can_neither_rotate_nor_ping(client):
    endpoint = endpoint_at(UNRESOLVABLE)
    client.force_login(staff_with("view_webhookendpoint"))
    assert client.get(ENDPOINTS).status_code == 200
    assert not {"rotate_secret", "send_ping"} & set(actions_offered(client, ENDPOINTS))

    for action in ("rotate_secret", "send_ping"):
        r = client.post(ENDPOINTS, {"action": action, "_selected_action": [endpoint.pk]}, follow=True)
        assert r.status_code == 200
        assert not [m for m in messages_of(r) if "whsec_" in m]
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert (stored.secret, stored.previous_secret) == (endpoint.secret, "")
    assert not WebhookDelivery.objects.exists()


def test_staff_who_may_change_endpoints_rotate_and_ping(client):
    endpoint = endpoint_at(UNRESOLVABLE)
    client.force_login(staff_with("view_webhookendpoint", "change_webhookendpoint"))
    assert {"rotate_secret", "send_ping"} <= set(actions_offered(client, ENDPOINTS))
    r = client.post(ENDPOINTS, {"action": "rotate_secret", "_selected_action": [endpoint.pk]}, follow=True)
    endpoint.refresh_from_db()
    assert [m for m in messages_of(r) if endpoint.secret in m]
    client.post(ENDPOINTS, {"action": "send_ping", "_selected_action": [endpoint.pk]})
    assert WebhookDelivery.objects.filter(endpoint=endpoint, event_type="ping").count() == 1


def test_staff_who_may_only_view_deliveries_cannot_redeliver(client):
    endpoint = endpoint_at(UNRESOLVABLE)
    delivery = webhooks.endpoint_ping(endpoint_id=endpoint.pk)
    client.force_login(staff_with("view_webhookdelivery"))
    assert "redeliver" not in actions_offered(client, DELIVERIES)
    client.post(DELIVERIES, {"action": "redeliver", "_selected_action": [delivery.pk]})
    assert WebhookDelivery.objects.count() == 1


def test_staff_who_may_change_deliveries_redeliver(client):
    endpoint = endpoint_at(UNRESOLVABLE)
    delivery = webhooks.endpoint_ping(endpoint_id=endpoint.pk)
    client.force_login(staff_with("view_webhookdelivery", "change_webhookdelivery"))
    assert "redeliver" in actions_offered(client, DELIVERIES)
    client.post(DELIVERIES, {"action": "redeliver", "_selected_action": [delivery.pk]})
    assert list(WebhookDelivery.objects.values_list("event_id", flat=True)) == [delivery.event_id] * 2
