"""OWASP API1:2023 Broken object level authorization.

A customer holding a valid token tries every method on every object URL of
the schema, aimed at objects that are not theirs: another customer's order and
account, a hidden (inactive) product, a coupon, a webhook endpoint and its
delivery. The answer is the contract's
(404 for an order that is not yours, 403 on staff-only routes, 405 for a
method a route does not take), it is exactly the answer for an id that does
not exist (so existence is not revealed), and nothing changes. The owner's
own request then works, so the 404 is about ownership and not a broken route.

The table is checked against the OpenAPI schema: an object operation without
a row fails the suite. (Lists never show another customer's orders, whatever
the filters: tests/orders/test_api_orders.py.)
"""

from decimal import Decimal
from typing import Any

import pytest

from orders import services as order_services
from orders.domain.placement import DraftLine, OrderDraft
from tests.factories import UserFactory, make_product, make_webhook_delivery, make_webhook_endpoint
from tests.security.helpers import METHODS, assert_envelope, call, operations, snapshot, url

pytestmark = pytest.mark.django_db

MISSING_ID = 10**9
_405 = dict.fromkeys(METHODS, 405)
_403 = dict.fromkeys(METHODS, 403)

# route → (whose object it is, {method: status for another customer}).
# "order" and "account" belong to the victim, "hidden_product" is inactive.
EXPECTED: dict[str, tuple[str, dict[str, int]]] = {
    "/api/v1/orders/{id}/": ("order", {**_405, "GET": 404}),
    "/api/v1/orders/{id}/cancel/": ("order", {**_405, "POST": 404}),
    "/api/v1/orders/{id}/transition/": ("order", {**_405, "POST": 403}),  # staff only, whoever owns it
    "/api/v1/orders/{id}/events/": ("order", {**_405, "GET": 404, "POST": 403}),  # notes: staff only
    "/api/v1/orders/{id}/returns/": ("order", {**_405, "GET": 404, "POST": 403}),  # recording: staff only
    "/api/v1/users/{id}/": ("account", _403),
    "/api/v1/products/{id}/": ("hidden_product", {**_403, "GET": 404}),
    "/api/v1/products/{id}/stock-adjustments/": ("hidden_product", _403),
    "/api/v1/products/{id}/stock-movements/": ("hidden_product", _403),
    "/api/v1/coupons/{id}/": ("coupon", _403),
    "/api/v1/webhooks/{id}/": ("webhook", _403),
    "/api/v1/webhooks/{id}/rotate-secret/": ("webhook", _403),
    "/api/v1/webhooks/{id}/ping/": ("webhook", _403),
    "/api/v1/webhooks/{id}/deliveries/": ("webhook", _403),
    "/api/v1/webhooks/deliveries/{id}/redeliver/": ("delivery", _403),
}

# What the owner gets for the same request, where the intruder gets a 404.
OWNER_GETS = {
    ("GET", "/api/v1/orders/{id}/"): 200,
    ("POST", "/api/v1/orders/{id}/cancel/"): 200,
    ("GET", "/api/v1/orders/{id}/events/"): 200,
    ("GET", "/api/v1/orders/{id}/returns/"): 200,
}

# Everything a greedy client might try to set at once.
GREEDY_BODY = {
    "status": "cancelled", "customer": None, "price": "0.01", "stock": 0, "is_active": False, "is_staff": True,
    "delta": -5, "reason": "mine now", "code": "MINE", "percent_off": "100", "sku": "MINE-1", "name": "Mine",
}  # fmt: skip

CASES = [(method, route) for route, (_, by_method) in EXPECTED.items() for method in by_method]


def test_every_object_operation_in_the_schema_has_an_expectation():
    in_schema = {(method, path) for method, path in operations() if "{id}" in path}
    assert in_schema <= set(CASES), sorted(in_schema - set(CASES))
    assert set(EXPECTED) == {path for _, path in in_schema}, "a route here is no longer in the schema"


@pytest.fixture
def victim_objects(db: None) -> dict[str, Any]:
    victim = UserFactory.create(email="victim@example.com")
    product = make_product(stock=10)
    order = order_services.order_place(customer=victim, draft=OrderDraft(lines=(DraftLine(product.id, 2),))).order
    coupon = order_services.coupon_create(code="STAFF-ONLY", percent_off=Decimal(10))
    webhook = make_webhook_endpoint()
    return {
        "victim": victim,
        "order": order.id,
        "account": victim.id,
        "hidden_product": make_product(stock=5, is_active=False).id,
        "coupon": coupon.id,
        "webhook": webhook.id,
        "delivery": make_webhook_delivery(webhook).id,
    }


def _same_answer(a: Any, b: Any) -> bool:
    return (a.status_code, a.content, a.get("Allow")) == (b.status_code, b.content, b.get("Allow"))


@pytest.mark.parametrize(("method", "route"), CASES, ids=[f"{m} {r}" for m, r in CASES])
def test_another_customers_object_is_refused_like_a_missing_one_and_left_alone(
    other_api, client_for, victim_objects, method, route
):
    kind, by_method = EXPECTED[route]
    expected = by_method[method]
    body = {**GREEDY_BODY, "customer": victim_objects["victim"].id} if method != "GET" else None
    before = snapshot()

    r = call(other_api, method, url(route, victim_objects[kind]), body)
    missing = call(other_api, method, url(route, MISSING_ID), body)

    errors = assert_envelope(r, expected, type="client_error")
    assert [e["code"] for e in errors] == [
        {403: "permission_denied", 404: "not_found", 405: "method_not_allowed"}[expected]
    ]
    assert _same_answer(r, missing), (r.content, missing.content)
    assert b"victim@example.com" not in r.content
    assert snapshot() == before

    if (method, route) in OWNER_GETS:
        owner = call(client_for(victim_objects["victim"]), method, url(route, victim_objects[kind]))
        assert owner.status_code == OWNER_GETS[(method, route)], owner.content
