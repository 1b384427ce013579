"""The Webhooks (staff) section of API.md, row by row, through HTTP, with a
real receiver on 127.0.0.1 (tests/support/webhooks.py).

Deliveries are published after commit and run eagerly in the tests: each
request whose deliveries a test watches runs through ``commit``, which runs
what the request left for after its commit, as a real commit would.
"""

import base64
import json
import logging
import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.models import Product
from notifications.domain.signing import verify_signature
from notifications.models import WebhookDelivery, WebhookEndpoint
from notifications.webhooks import webhook_deliver, webhooks_due
from tests.factories import make_product
from tests.support.webhooks import WebhookReceiver

pytestmark = pytest.mark.django_db

WEBHOOKS = "/api/v1/webhooks/"
ORDERS = "/api/v1/orders/"
API_VERSION = "2026-12-07"
ENDPOINT_FIELDS = {"id", "url", "events", "description", "is_active", "api_version", "created_at"}
DELIVERY_FIELDS = {
    "id",
    "event_id",
    "event_type",
    "status",
    "attempts",
    "last_status_code",
    "last_error",
    "next_attempt_at",
    "created_at",
    "delivered_at",
}
EVENT_FIELDS = {"id", "type", "api_version", "created_at", "data"}
# notifications.domain.signing: "whsec_" and 32 random bytes, url-safe base64 without padding.
SECRET = re.compile(r"whsec_[A-Za-z0-9_-]{43}")
UNRESOLVABLE = "http://nonexistent.invalid/hook"


def detail(endpoint_id: int | str, action: str = "") -> str:
    return f"{WEBHOOKS}{endpoint_id}/" + (f"{action}/" if action else "")


def redeliver_url(delivery_id: int | str) -> str:
    return f"{WEBHOOKS}deliveries/{delivery_id}/redeliver/"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    return response.json() if response.content else None


def error(response: Any, status: int) -> list[tuple[str, str | None]]:
    """Asserts the contract's one error envelope; returns its (code, attr) pairs."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"type", "errors"}, body
    assert body["type"] == ("validation_error" if status == 400 else "client_error")
    assert body["errors"], body
    for e in body["errors"]:
        assert set(e) == {"code", "detail", "attr"}, e
        assert e["code"] and isinstance(e["detail"], str) and e["detail"], e
    return [(e["code"], e["attr"]) for e in body["errors"]]


def create(api: APIClient, url: str = UNRESOLVABLE, events: tuple[str, ...] = ("order.placed",), **extra: Any) -> Any:
    return ok(api.post(WEBHOOKS, {"url": url, "events": list(events), **extra}, format="json"), 201)


def deliveries(api: APIClient, endpoint_id: int, **query: Any) -> list[dict[str, Any]]:
    return ok(api.get(detail(endpoint_id, "deliveries"), query))["results"]


def place_order(api: APIClient, product: Product) -> int:
    body = {"lines": [{"product_id": product.id, "quantity": 1}]}
    return ok(api.post(ORDERS, body, format="json"), 201)["id"]


def signed_by(received: Any, secret: str) -> bool:
    return verify_signature(received.body, received.headers["Stockroom-Signature"], secret, now=int(time.time()))


@pytest.fixture
def product() -> Product:
    return make_product(stock=1000)


# --- Who may call ---------------------------------------------------------------


ROUTES = [
    ("get", "list"),
    ("post", "list"),
    ("get", "detail"),
    ("patch", "detail"),
    ("delete", "detail"),
    ("post", "rotate-secret"),
    ("post", "ping"),
    ("get", "deliveries"),
    ("post", "redeliver"),
]


def route(name: str, endpoint_id: int, delivery_id: int) -> str:
    if name == "list":
        return WEBHOOKS
    if name == "detail":
        return detail(endpoint_id)
    if name == "redeliver":
        return redeliver_url(delivery_id)
    return detail(endpoint_id, name)


@pytest.mark.parametrize(("method", "name"), ROUTES)
@pytest.mark.parametrize(("who", "status"), [("anon", 401), ("customer_api", 403)])
def test_every_webhook_route_is_refused_to_anonymous_users_and_customers(request, staff_api, method, name, who, status):
    endpoint = create(staff_api, description="kept")
    delivery = ok(staff_api.post(detail(endpoint["id"], "ping")), 202)
    client = request.getfixturevalue(who)
    body = {"url": "https://example.com/other", "events": ["product.stock_low"], "is_active": False}
    response = getattr(client, method)(route(name, endpoint["id"], delivery["id"]), body, format="json")
    assert error(response, status)
    assert b"whsec_" not in response.content
    # Nothing happened: the endpoint, its secret and its deliveries are as they were.
    assert ok(staff_api.get(detail(endpoint["id"])))["url"] == UNRESOLVABLE
    assert WebhookEndpoint.objects.get(id=endpoint["id"]).secret == endpoint["secret"]
    assert WebhookEndpoint.objects.count() == 1
    assert [d["id"] for d in deliveries(staff_api, endpoint["id"])] == [delivery["id"]]


# --- Create, read, update -------------------------------------------------------


def test_create_answers_the_endpoint_with_its_secret_once(staff_api):
    r = staff_api.post(
        WEBHOOKS,
        {"url": UNRESOLVABLE, "events": ["order.placed", "product.stock_low"], "description": "ERP"},
        format="json",
    )
    body = ok(r, 201)
    assert set(body) == ENDPOINT_FIELDS | {"secret"}
    assert body["url"] == UNRESOLVABLE
    assert body["events"] == ["order.placed", "product.stock_low"]
    assert (body["description"], body["is_active"], body["api_version"]) == ("ERP", True, API_VERSION)
    assert body["created_at"].endswith("Z")
    assert SECRET.fullmatch(body["secret"]), body["secret"]
    assert len(base64.urlsafe_b64decode(body["secret"].removeprefix("whsec_") + "=")) == 32

    listed = staff_api.get(WEBHOOKS)
    page = ok(listed)
    assert set(page) == {"count", "next", "previous", "results"}
    assert page["count"] == 1
    assert page["results"] == [{k: v for k, v in body.items() if k != "secret"}]
    retrieved = staff_api.get(detail(body["id"]))
    assert ok(retrieved) == {k: v for k, v in body.items() if k != "secret"}
    patched = staff_api.patch(detail(body["id"]), {"description": "ERP (new)"}, format="json")
    assert set(ok(patched)) == ENDPOINT_FIELDS
    assert ok(patched)["description"] == "ERP (new)"
    for response in (listed, retrieved, patched):
        assert b"whsec_" not in response.content
        assert body["secret"].encode() not in response.content


def test_two_endpoints_get_different_secrets(staff_api):
    assert create(staff_api)["secret"] != create(staff_api)["secret"]


def test_create_takes_is_active_false_and_defaults_description_to_empty(staff_api):
    body = create(staff_api, is_active=False)
    assert (body["is_active"], body["description"]) == (False, "")
    assert ok(staff_api.get(detail(body["id"])))["is_active"] is False


def test_rotate_secret_answers_a_new_secret_and_keeps_the_old_one_for_24_hours(staff_api):
    endpoint = create(staff_api)
    before = timezone.now()
    r = staff_api.post(detail(endpoint["id"], "rotate-secret"))
    rotated = ok(r)
    assert set(rotated) == ENDPOINT_FIELDS | {"secret"}
    assert SECRET.fullmatch(rotated["secret"])
    assert rotated["secret"] != endpoint["secret"]
    assert {k: v for k, v in rotated.items() if k != "secret"} == {k: v for k, v in endpoint.items() if k != "secret"}
    stored = WebhookEndpoint.objects.get(id=endpoint["id"])
    assert (stored.secret, stored.previous_secret) == (rotated["secret"], endpoint["secret"])
    assert stored.previous_secret_expires_at is not None
    assert before + timedelta(hours=24) <= stored.previous_secret_expires_at <= timezone.now() + timedelta(hours=24)
    # Neither secret is shown again.
    again = staff_api.get(detail(endpoint["id"]))
    assert b"whsec_" not in again.content


def test_after_a_rotation_deliveries_are_signed_with_the_new_and_the_old_secret(staff_api, webhook_receiver, commit):
    endpoint = create(staff_api, url=webhook_receiver.url)
    new = ok(staff_api.post(detail(endpoint["id"], "rotate-secret")))["secret"]
    ok(commit(lambda: staff_api.post(detail(endpoint["id"], "ping"))), 202)
    (received,) = webhook_receiver.events("ping")
    assert received.headers["Stockroom-Signature"].count("v1=") == 2
    assert signed_by(received, new)
    assert signed_by(received, endpoint["secret"])
    assert not signed_by(received, "whsec_" + "A" * 43)


def test_the_old_secret_stops_signing_24_hours_after_a_rotation(staff_api, webhook_receiver, commit):
    endpoint = create(staff_api, url=webhook_receiver.url)
    new = ok(staff_api.post(detail(endpoint["id"], "rotate-secret")))["secret"]
    WebhookEndpoint.objects.filter(id=endpoint["id"]).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    ok(commit(lambda: staff_api.post(detail(endpoint["id"], "ping"))), 202)
    (received,) = webhook_receiver.events("ping")
    assert received.headers["Stockroom-Signature"].count("v1=") == 1
    assert signed_by(received, new)
    assert not signed_by(received, endpoint["secret"])


# --- Which URLs ----------------------------------------------------------------


NEVER_ALLOWED = [
    "ftp://example.com/hook",
    "javascript:alert(1)",
    "http://",
    "http:///hook",
    "file:///etc/passwd",
    "hooks.example.com/no-scheme",
]
PRIVATE = [
    "http://127.0.0.1/",
    "http://localhost/",
    "http://10.0.0.1/",
    "http://192.168.1.10:8080/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/",
    "http://0.0.0.0/",
]


@pytest.mark.parametrize("url", NEVER_ALLOWED + PRIVATE)
def test_a_url_that_is_not_http_or_resolves_to_a_private_address_is_refused(staff_api, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    r = staff_api.post(WEBHOOKS, {"url": url, "events": ["order.placed"]}, format="json")
    assert error(r, 400) == [("url_not_allowed", "url")]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("url", PRIVATE)
def test_private_hosts_are_accepted_when_the_setting_allows_them(staff_api, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    assert create(staff_api, url=url)["url"] == url


@pytest.mark.parametrize("url", NEVER_ALLOWED)
def test_a_url_that_is_not_http_is_refused_even_when_private_hosts_are_allowed(staff_api, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    r = staff_api.post(WEBHOOKS, {"url": url, "events": ["order.placed"]}, format="json")
    assert error(r, 400) == [("url_not_allowed", "url")]


def test_a_host_that_does_not_resolve_is_accepted(staff_api, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    body = create(staff_api, url="http://nonexistent.invalid/hook")
    assert body["url"] == "http://nonexistent.invalid/hook"


@pytest.mark.parametrize("url", ["http://127.0.0.1/", "http://169.254.169.254/", "ftp://example.com/"])
def test_patching_the_url_to_a_forbidden_one_is_refused_and_changes_nothing(staff_api, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    endpoint = create(staff_api, description="before")
    r = staff_api.patch(detail(endpoint["id"]), {"url": url, "description": "after"}, format="json")
    assert error(r, 400) == [("url_not_allowed", "url")]
    now = ok(staff_api.get(detail(endpoint["id"])))
    assert (now["url"], now["description"]) == (UNRESOLVABLE, "before")


def test_patching_the_url_to_an_allowed_one_changes_it(staff_api, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    endpoint = create(staff_api)
    body = ok(staff_api.patch(detail(endpoint["id"]), {"url": "https://other.invalid/h"}, format="json"))
    assert body["url"] == "https://other.invalid/h"
    assert ok(staff_api.get(detail(endpoint["id"])))["url"] == "https://other.invalid/h"


# --- Which events -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([], [("min_length", "events")]),
        (["order.shipped"], [("invalid_choice", "events.0")]),
        (["order.placed", "ping"], [("invalid_choice", "events.1")]),
        ("order.placed", [("not_a_list", "events")]),
    ],
)
def test_events_must_be_a_non_empty_list_of_the_subscribable_types(staff_api, events, expected):
    r = staff_api.post(WEBHOOKS, {"url": UNRESOLVABLE, "events": events}, format="json")
    assert error(r, 400) == expected
    assert not WebhookEndpoint.objects.exists()


def test_every_subscribable_event_type_is_accepted(staff_api):
    every = ("order.placed", "order.status_changed", "order.return_recorded", "product.stock_low")
    assert create(staff_api, events=every)["events"] == list(every)


def test_duplicate_events_are_collapsed_in_order(staff_api):
    body = create(staff_api, events=("product.stock_low", "order.placed", "product.stock_low", "order.placed"))
    assert body["events"] == ["product.stock_low", "order.placed"]
    patched = staff_api.patch(
        detail(body["id"]), {"events": ["order.status_changed", "order.status_changed"]}, format="json"
    )
    assert ok(patched)["events"] == ["order.status_changed"]


def test_patching_events_to_an_empty_list_is_refused(staff_api):
    endpoint = create(staff_api)
    assert error(staff_api.patch(detail(endpoint["id"]), {"events": []}, format="json"), 400) == [
        ("min_length", "events")
    ]
    assert ok(staff_api.get(detail(endpoint["id"])))["events"] == ["order.placed"]


def test_create_needs_url_and_events(staff_api):
    assert set(error(staff_api.post(WEBHOOKS, {}, format="json"), 400)) == {
        ("required", "url"),
        ("required", "events"),
    }
    assert error(staff_api.post(WEBHOOKS, {"url": UNRESOLVABLE}, format="json"), 400) == [("required", "events")]
    r = staff_api.post(WEBHOOKS, {"events": ["order.placed"]}, format="json")
    assert error(r, 400) == [("required", "url")]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("field", ["secret", "api_version", "id", "failing_since", "colour"])
def test_a_field_the_endpoint_does_not_take_is_refused(staff_api, field):
    r = staff_api.post(WEBHOOKS, {"url": UNRESOLVABLE, "events": ["order.placed"], field: "x"}, format="json")
    assert error(r, 400) == [("unknown_field", field)]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("field", ["secret", "api_version"])
def test_patch_refuses_a_field_it_does_not_take_and_changes_nothing(staff_api, field):
    endpoint = create(staff_api)
    r = staff_api.patch(detail(endpoint["id"]), {field: "whsec_mine", "description": "x"}, format="json")
    assert error(r, 400) == [("unknown_field", field)]
    stored = WebhookEndpoint.objects.get(id=endpoint["id"])
    assert (stored.secret, stored.api_version, stored.description) == (endpoint["secret"], API_VERSION, "")


def test_put_is_not_allowed(staff_api):
    endpoint = create(staff_api)
    r = staff_api.put(detail(endpoint["id"]), {"url": UNRESOLVABLE, "events": ["order.placed"]}, format="json")
    assert error(r, 405) == [("method_not_allowed", None)]


@pytest.mark.parametrize(("method", "name"), [r for r in ROUTES if r[1] != "list"])
def test_an_unknown_id_is_404(staff_api, method, name):
    r = getattr(staff_api, method)(route(name, 999_999, 999_999), {"description": "x"}, format="json")
    assert error(r, 404) == [("not_found", None)]


# --- Ping ------------------------------------------------------------------------


def test_ping_delivers_one_signed_ping_event_to_that_endpoint_alone(staff_api, webhook_receiver, commit):
    endpoint = create(staff_api, url=webhook_receiver.url)
    create(staff_api, url=f"http://127.0.0.1:{webhook_receiver.port}/other")
    r = commit(lambda: staff_api.post(detail(endpoint["id"], "ping")))
    accepted = ok(r, 202)
    assert set(accepted) == DELIVERY_FIELDS
    assert accepted["event_type"] == "ping"

    (received,) = webhook_receiver.received
    assert received.path == "/hooks"
    event = received.json
    assert set(event) == EVENT_FIELDS
    assert (event["type"], event["api_version"]) == ("ping", API_VERSION)
    assert event["id"].startswith("evt_") and event["id"] == accepted["event_id"]
    assert event["created_at"].endswith("Z")
    assert isinstance(event["data"], dict)
    assert received.headers["Stockroom-Event-Id"] == event["id"]
    assert received.headers["Content-Type"] == "application/json"
    assert signed_by(received, endpoint["secret"])
    assert not signed_by(received, create(staff_api)["secret"])

    (logged,) = deliveries(staff_api, endpoint["id"])
    assert (logged["id"], logged["status"], logged["attempts"]) == (accepted["id"], "succeeded", 1)
    assert logged["last_status_code"] == 200


def test_ping_reaches_an_inactive_endpoint(staff_api, webhook_receiver, commit):
    endpoint = create(staff_api, url=webhook_receiver.url, is_active=False)
    ok(commit(lambda: staff_api.post(detail(endpoint["id"], "ping"))), 202)
    assert [r.json["type"] for r in webhook_receiver.received] == ["ping"]


def test_a_host_that_does_not_resolve_is_tried_at_each_delivery_and_retried(staff_api, commit):
    endpoint = create(staff_api, url=UNRESOLVABLE)
    ok(commit(lambda: staff_api.post(detail(endpoint["id"], "ping"))), 202)
    (delivery,) = deliveries(staff_api, endpoint["id"])
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("pending", 1, None)
    assert delivery["last_error"] == "does not resolve"
    assert delivery["next_attempt_at"] is not None


def test_a_host_is_checked_again_at_each_delivery(staff_api, webhook_receiver, commit, settings):
    endpoint = create(staff_api, url=webhook_receiver.url)  # registered while private hosts were allowed
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    ok(commit(lambda: staff_api.post(detail(endpoint["id"], "ping"))), 202)
    assert webhook_receiver.received == []
    (delivery,) = deliveries(staff_api, endpoint["id"])
    assert (delivery["status"], delivery["last_status_code"]) == ("pending", None)
    assert "forbidden address 127.0.0.1" in delivery["last_error"]


# --- Deliveries -------------------------------------------------------------------


def test_deliveries_are_listed_newest_first_with_the_delivery_fields_and_filter_on_status(
    staff_api, customer_api, product, webhook_receiver, commit, settings
):
    endpoint = create(staff_api, url=webhook_receiver.url)
    webhook_receiver.answer(500)
    first = commit(lambda: place_order(customer_api, product))
    webhook_receiver.answer(200)
    second = commit(lambda: place_order(customer_api, product))
    webhook_receiver.answer(500)
    settings.WEBHOOK_RETRY_HOURS = 0  # the first failure is the last
    third = commit(lambda: place_order(customer_api, product))
    sent = [r.json for r in webhook_receiver.events("order.placed")]
    assert [e["data"]["id"] for e in sent] == [first, second, third]

    r = staff_api.get(detail(endpoint["id"], "deliveries"))
    page = ok(r)
    assert set(page) == {"count", "next", "previous", "results"}
    assert (page["count"], page["next"], page["previous"]) == (3, None, None)
    assert b"whsec_" not in r.content
    failed, succeeded, pending = page["results"]
    for item in page["results"]:
        assert set(item) == DELIVERY_FIELDS
        assert (item["event_type"], item["attempts"]) == ("order.placed", 1)
    assert [d["event_id"] for d in page["results"]] == [e["id"] for e in reversed(sent)]

    assert (pending["status"], pending["last_status_code"], pending["delivered_at"]) == ("pending", 500, None)
    assert pending["last_error"] and "500" in pending["last_error"]
    assert pending["next_attempt_at"] is not None
    assert (succeeded["status"], succeeded["last_status_code"], succeeded["last_error"]) == ("succeeded", 200, None)
    assert succeeded["delivered_at"] is not None and succeeded["next_attempt_at"] is None
    assert (failed["status"], failed["last_status_code"], failed["next_attempt_at"]) == ("failed", 500, None)
    assert failed["last_error"] and failed["delivered_at"] is None

    for status, expected in (("pending", pending), ("succeeded", succeeded), ("failed", failed)):
        assert deliveries(staff_api, endpoint["id"], status=status) == [expected]


def test_deliveries_are_paginated_with_the_page_envelope(staff_api, webhook_receiver, commit):
    endpoint = create(staff_api, url=webhook_receiver.url)
    pinged = [ok(commit(lambda: staff_api.post(detail(endpoint["id"], "ping"))), 202)["id"] for _ in range(3)]
    first = ok(staff_api.get(detail(endpoint["id"], "deliveries"), {"page_size": 2}))
    assert first["count"] == 3 and first["previous"] is None and first["next"]
    second = ok(staff_api.get(first["next"]))
    assert second["next"] is None and second["previous"]
    assert [d["id"] for d in first["results"] + second["results"]] == list(reversed(pinged))


def test_deliveries_list_only_that_endpoints(staff_api, webhook_receiver, commit):
    mine = create(staff_api, url=webhook_receiver.url)
    other = create(staff_api, url=webhook_receiver.url)
    ping = ok(commit(lambda: staff_api.post(detail(mine["id"], "ping"))), 202)
    ok(commit(lambda: staff_api.post(detail(other["id"], "ping"))), 202)
    assert [d["id"] for d in deliveries(staff_api, mine["id"])] == [ping["id"]]


@pytest.mark.parametrize("status", ["bogus", "PENDING", "retry"])
def test_deliveries_refuse_an_unknown_status(staff_api, status):
    endpoint = create(staff_api)
    assert error(staff_api.get(detail(endpoint["id"], "deliveries"), {"status": status}), 400) == [
        ("invalid_choice", "status")
    ]


# --- Redeliver --------------------------------------------------------------------


def test_redeliver_sends_the_same_event_again_as_a_new_delivery(
    staff_api, customer_api, product, webhook_receiver, commit
):
    endpoint = create(staff_api, url=webhook_receiver.url)
    commit(lambda: place_order(customer_api, product))
    (old,) = deliveries(staff_api, endpoint["id"])
    assert old["status"] == "succeeded"

    r = commit(lambda: staff_api.post(redeliver_url(old["id"])))
    new = ok(r, 202)
    assert set(new) == DELIVERY_FIELDS
    assert new["id"] != old["id"]
    assert (new["event_id"], new["event_type"]) == (old["event_id"], "order.placed")

    first, again = webhook_receiver.received
    assert first.event_id == again.event_id == old["event_id"]
    assert again.body == first.body
    assert signed_by(again, endpoint["secret"])
    listed = deliveries(staff_api, endpoint["id"])
    assert [(d["id"], d["event_id"], d["status"]) for d in listed] == [
        (new["id"], old["event_id"], "succeeded"),
        (old["id"], old["event_id"], "succeeded"),
    ]


def test_redeliver_of_a_failed_delivery_gives_it_another_chance(
    staff_api, customer_api, product, webhook_receiver, commit, settings
):
    endpoint = create(staff_api, url=webhook_receiver.url)
    settings.WEBHOOK_RETRY_HOURS = 0
    webhook_receiver.answer(500)
    commit(lambda: place_order(customer_api, product))
    (failed,) = deliveries(staff_api, endpoint["id"], status="failed")
    webhook_receiver.answer(200)
    new = ok(commit(lambda: staff_api.post(redeliver_url(failed["id"]))), 202)
    (succeeded,) = deliveries(staff_api, endpoint["id"], status="succeeded")
    assert (succeeded["id"], succeeded["event_id"]) == (new["id"], failed["event_id"])
    assert len(webhook_receiver.received) == 2
    assert webhook_receiver.received[0].body == webhook_receiver.received[1].body


# --- Delete -----------------------------------------------------------------------


def test_delete_removes_the_endpoint_and_its_deliveries_and_cancels_the_pending_ones(
    staff_api, customer_api, product, webhook_receiver, commit
):
    gone = create(staff_api, url=webhook_receiver.url)
    kept = create(staff_api, url=f"http://127.0.0.1:{webhook_receiver.port}/kept")
    webhook_receiver.answer(500)
    for _ in range(2):
        commit(lambda: place_order(customer_api, product))
    gone_ids = [d["id"] for d in deliveries(staff_api, gone["id"], status="pending")]
    kept_ids = [d["id"] for d in deliveries(staff_api, kept["id"], status="pending")]
    assert len(gone_ids) == len(kept_ids) == 2
    assert len(webhook_receiver.received) == 4

    r = staff_api.delete(detail(gone["id"]))
    assert r.status_code == 204 and not r.content
    assert error(staff_api.get(detail(gone["id"])), 404)
    assert error(staff_api.get(detail(gone["id"], "deliveries")), 404)
    assert error(staff_api.post(redeliver_url(gone_ids[0])), 404)
    assert [e["id"] for e in ok(staff_api.get(WEBHOOKS))["results"]] == [kept["id"]]
    assert not WebhookDelivery.objects.filter(id__in=gone_ids).exists()

    # The dispatcher, when the retries fall due, finds only the kept endpoint's.
    webhook_receiver.answer(200)
    due = webhooks_due(now=timezone.now() + timedelta(days=1))
    assert sorted(due) == sorted(kept_ids)
    for delivery_id in gone_ids + kept_ids:
        webhook_deliver(delivery_id=delivery_id)
    assert [r.path for r in webhook_receiver.received[4:]] == ["/kept", "/kept"]
    assert [d["status"] for d in deliveries(staff_api, kept["id"])] == ["succeeded", "succeeded"]


class DeletingReceiver(WebhookReceiver):
    """A receiver whose endpoint is deleted (by staff, through the API) while
    a delivery to it is in flight: between the worker's claim and its record."""

    delete: Callable[[], Any] | None = None
    deleted: list[int]

    def _next_status(self) -> int:  # called while the POST is being answered
        if self.delete is not None:
            try:
                self.deleted.append(self.delete().status_code)
            finally:
                connection.close()  # this thread's own connection
        return super()._next_status()


@pytest.mark.django_db(transaction=True)
def test_an_endpoint_deleted_while_a_delivery_is_in_flight_leaves_the_worker_nothing_to_record(
    staff_api, settings, caplog
):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    receiver = DeletingReceiver(statuses=(500, 200)).start()
    try:
        endpoint = create(staff_api, url=receiver.url)
        ok(staff_api.post(detail(endpoint["id"], "ping")), 202)  # committed: tried at once, answered 500
        (pending,) = deliveries(staff_api, endpoint["id"], status="pending")
        receiver.deleted, receiver.delete = [], lambda: staff_api.delete(detail(endpoint["id"]))

        caplog.clear()
        webhook_deliver(delivery_id=pending["id"])  # the retry, as the worker makes it

        assert receiver.deleted == [204]
        assert len(receiver.received) == 2
        assert error(staff_api.get(detail(endpoint["id"])), 404)
        assert not WebhookDelivery.objects.exists()
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    finally:
        receiver.stop()


# --- Active or not ---------------------------------------------------------------


def test_an_inactive_endpoint_fails_its_pending_deliveries_and_gets_no_new_events(
    staff_api, customer_api, product, webhook_receiver, commit
):
    endpoint = create(staff_api, url=webhook_receiver.url)
    webhook_receiver.answer(500)
    commit(lambda: place_order(customer_api, product))
    (pending,) = deliveries(staff_api, endpoint["id"], status="pending")

    body = ok(staff_api.patch(detail(endpoint["id"]), {"is_active": False}, format="json"))
    assert body["is_active"] is False
    assert deliveries(staff_api, endpoint["id"], status="pending") == []
    (failed,) = deliveries(staff_api, endpoint["id"], status="failed")
    assert failed["id"] == pending["id"] and failed["next_attempt_at"] is None

    webhook_receiver.answer(200)
    commit(lambda: place_order(customer_api, product))
    assert len(webhook_receiver.received) == 1
    assert len(deliveries(staff_api, endpoint["id"])) == 1
    # What the dispatcher would retry later goes nowhere either.
    assert pending["id"] not in webhooks_due(now=timezone.now() + timedelta(days=1))

    assert ok(staff_api.patch(detail(endpoint["id"]), {"is_active": True}, format="json"))["is_active"] is True
    third = commit(lambda: place_order(customer_api, product))
    assert [r.json["data"]["id"] for r in webhook_receiver.received[1:]] == [third]
    assert [d["status"] for d in deliveries(staff_api, endpoint["id"])] == ["succeeded", "failed"]


def test_an_endpoint_gets_only_the_events_it_subscribes_to(staff_api, customer_api, product, webhook_receiver, commit):
    create(staff_api, url=webhook_receiver.url, events=("product.stock_low",))
    commit(lambda: place_order(customer_api, product))
    assert webhook_receiver.received == []


# --- The schema ---------------------------------------------------------------------


def test_the_openapi_schema_has_every_webhook_path_and_method_and_no_put(anon):
    r = anon.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert r.status_code == 200
    paths = json.loads(r.content)["paths"]
    methods = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}
    webhook_paths = {
        path: {m for m in ops if m in methods} for path, ops in paths.items() if path.startswith("/api/v1/webhooks")
    }
    assert webhook_paths == {
        "/api/v1/webhooks/": {"get", "post"},
        "/api/v1/webhooks/{id}/": {"get", "patch", "delete"},
        "/api/v1/webhooks/{id}/rotate-secret/": {"post"},
        "/api/v1/webhooks/{id}/ping/": {"post"},
        "/api/v1/webhooks/{id}/deliveries/": {"get"},
        "/api/v1/webhooks/deliveries/{id}/redeliver/": {"post"},
    }
    created = paths["/api/v1/webhooks/"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert created["$ref"].endswith("/WebhookEndpointWithSecret")
    listed = paths["/api/v1/webhooks/{id}/deliveries/"]["get"]
    assert {p["name"] for p in listed["parameters"]} >= {"id", "status", "page", "page_size"}
