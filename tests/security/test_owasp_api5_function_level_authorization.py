"""OWASP API5:2023 Broken function level authorization — and, on the same
requests, API3's "no response leaks a hash or another user's email".

Every operation of the OpenAPI schema, called by each of anonymous, a
customer, staff and a superuser with a request that is valid for whoever may
make it: anonymous gets 401 on anything protected, a customer 403 on
staff-only operations, staff 403 on the superuser-only account deletion.
Refusals are in the envelope, documented in the schema for that operation,
and change nothing. A customer acts on their own order here (another
customer's is API1's business, in test_owasp_api1_object_level_authorization.py).

The matrix is checked against the schema: an operation without a row fails.
"""

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from inventory.models import Product
from notifications.models import WebhookDelivery, WebhookEndpoint
from orders import services as order_services
from orders.domain.placement import DraftLine, OrderDraft
from orders.models import Coupon
from tests.conftest import bearer
from tests.factories import DEFAULT_PASSWORD, UserFactory, make_product, make_webhook_delivery, make_webhook_endpoint
from tests.security.helpers import (
    assert_no_secrets,
    assert_single_error,
    call,
    documented_statuses,
    is_public,
    operations,
    snapshot,
    url,
)
from tests.users.helpers import STRONG_PASSWORD, refresh_for
from users.models import User

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "customer", "staff", "superuser")
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
_fresh = itertools.count()


@dataclass(frozen=True)
class World:
    caller: User | None
    bystander: User  # another customer, with an order
    target: User  # an account staff may read and a superuser may deactivate
    product: Product
    coupon: Coupon
    order: int  # the caller's own order when a customer, else the bystander's
    webhook: WebhookEndpoint
    delivery: WebhookDelivery

    @property
    def someone(self) -> User:
        return self.caller or self.bystander


@dataclass(frozen=True)
class Row:
    obj: str | None  # which World attribute fills {id}
    body: Callable[[World], Any]
    expected: dict[str, int]


def anyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def signed_in(status: int) -> dict[str, int]:
    return {"anonymous": 401, "customer": status, "staff": status, "superuser": status}


def staff_only(status: int) -> dict[str, int]:
    return {"anonymous": 401, "customer": 403, "staff": status, "superuser": status}


def superuser_only(status: int) -> dict[str, int]:
    return {"anonymous": 401, "customer": 403, "staff": 403, "superuser": status}


def nobody(w: World) -> None:
    return None


def _new_account(w: World) -> dict[str, str]:
    n = next(_fresh)
    return {"email": f"new{n}@example.com", "username": f"new{n}", "password": STRONG_PASSWORD}


V1 = "/api/v1"
MATRIX: dict[tuple[str, str], Row] = {
    ("POST", f"{V1}/auth/register/"): Row(None, _new_account, anyone(201)),
    ("POST", f"{V1}/auth/token/"): Row(
        None, lambda w: {"email": w.someone.email, "password": DEFAULT_PASSWORD}, anyone(200)
    ),
    ("POST", f"{V1}/auth/token/refresh/"): Row(None, lambda w: {"refresh": refresh_for(w.someone)}, anyone(200)),
    ("POST", f"{V1}/auth/logout/"): Row(None, lambda w: {"refresh": refresh_for(w.someone)}, signed_in(204)),
    ("GET", f"{V1}/users/me/"): Row(None, nobody, signed_in(200)),
    ("PATCH", f"{V1}/users/me/"): Row(None, lambda w: {"full_name": "Changed"}, signed_in(200)),
    ("GET", f"{V1}/users/"): Row(None, nobody, staff_only(200)),
    ("GET", f"{V1}/users/{{id}}/"): Row("target", nobody, staff_only(200)),
    ("DELETE", f"{V1}/users/{{id}}/"): Row("target", nobody, superuser_only(204)),
    ("GET", f"{V1}/products/"): Row(None, nobody, anyone(200)),
    ("POST", f"{V1}/products/"): Row(None, lambda w: {"sku": "NEW-1", "name": "New", "price": "1.00"}, staff_only(201)),
    ("GET", f"{V1}/products/{{id}}/"): Row("product", nobody, anyone(200)),
    ("PUT", f"{V1}/products/{{id}}/"): Row(
        "product", lambda w: {"sku": w.product.sku, "name": "Renamed", "price": "2.00"}, staff_only(200)
    ),
    ("PATCH", f"{V1}/products/{{id}}/"): Row("product", lambda w: {"price": "0.01"}, staff_only(200)),
    ("DELETE", f"{V1}/products/{{id}}/"): Row("product", nobody, staff_only(204)),
    ("POST", f"{V1}/products/{{id}}/stock-adjustments/"): Row(
        "product", lambda w: {"delta": 5, "reason": "recount"}, staff_only(201)
    ),
    ("GET", f"{V1}/products/{{id}}/stock-movements/"): Row("product", nobody, staff_only(200)),
    ("GET", f"{V1}/coupons/"): Row(None, nobody, staff_only(200)),
    ("POST", f"{V1}/coupons/"): Row(None, lambda w: {"code": "NEW10", "percent_off": "10"}, staff_only(201)),
    ("GET", f"{V1}/coupons/{{id}}/"): Row("coupon", nobody, staff_only(200)),
    ("PATCH", f"{V1}/coupons/{{id}}/"): Row("coupon", lambda w: {"percent_off": "100"}, staff_only(200)),
    ("DELETE", f"{V1}/coupons/{{id}}/"): Row("coupon", nobody, staff_only(204)),
    ("GET", f"{V1}/orders/"): Row(None, nobody, signed_in(200)),
    ("POST", f"{V1}/orders/"): Row(
        None, lambda w: {"lines": [{"product_id": w.product.id, "quantity": 1}]}, signed_in(201)
    ),
    ("GET", f"{V1}/orders/{{id}}/"): Row("order", nobody, signed_in(200)),
    ("POST", f"{V1}/orders/{{id}}/cancel/"): Row("order", nobody, signed_in(200)),
    ("POST", f"{V1}/orders/{{id}}/transition/"): Row("order", lambda w: {"status": "paid"}, staff_only(200)),
    ("GET", f"{V1}/orders/{{id}}/events/"): Row("order", nobody, signed_in(200)),
    ("POST", f"{V1}/orders/{{id}}/events/"): Row("order", lambda w: {"note": "Called the customer."}, staff_only(201)),
    ("GET", f"{V1}/orders/{{id}}/returns/"): Row("order", nobody, signed_in(200)),
    # The order is pending: staff are let through, and the status machine refuses.
    ("POST", f"{V1}/orders/{{id}}/returns/"): Row(
        "order",
        lambda w: {"lines": [{"product_id": w.product.id, "quantity": 1}]},
        {"anonymous": 401, "customer": 403, "staff": 409, "superuser": 409},
    ),
    ("GET", f"{V1}/reports/top-customers/"): Row(None, nobody, staff_only(200)),
    ("GET", f"{V1}/webhooks/"): Row(None, nobody, staff_only(200)),
    ("POST", f"{V1}/webhooks/"): Row(
        None, lambda w: {"url": "https://hooks.example.com/new", "events": ["order.placed"]}, staff_only(201)
    ),
    ("GET", f"{V1}/webhooks/{{id}}/"): Row("webhook", nobody, staff_only(200)),
    ("PATCH", f"{V1}/webhooks/{{id}}/"): Row("webhook", lambda w: {"description": "changed"}, staff_only(200)),
    ("DELETE", f"{V1}/webhooks/{{id}}/"): Row("webhook", nobody, staff_only(204)),
    ("POST", f"{V1}/webhooks/{{id}}/rotate-secret/"): Row("webhook", nobody, staff_only(200)),
    ("POST", f"{V1}/webhooks/{{id}}/ping/"): Row("webhook", nobody, staff_only(202)),
    ("GET", f"{V1}/webhooks/{{id}}/deliveries/"): Row("webhook", nobody, staff_only(200)),
    ("POST", f"{V1}/webhooks/deliveries/{{id}}/redeliver/"): Row("delivery", nobody, staff_only(202)),
}


def test_every_operation_in_the_schema_has_a_row_and_every_row_an_operation():
    assert set(operations()) == set(MATRIX), (
        f"missing from the matrix: {sorted(set(operations()) - set(MATRIX))}; "
        f"gone from the schema: {sorted(set(MATRIX) - set(operations()))}"
    )


def test_the_schema_marks_as_public_exactly_the_operations_open_to_anonymous():
    assert {op: is_public(*op) for op in operations()} == {
        op: MATRIX[op].expected["anonymous"] != 401 for op in operations()
    }


def _caller(role: str) -> User | None:
    if role == "anonymous":
        return None
    return UserFactory.create(is_staff=role in ("staff", "superuser"), is_superuser=role == "superuser")


def _world(caller: User | None, role: str) -> World:
    bystander = UserFactory.create()
    product = make_product(stock=50)
    owner = caller if role == "customer" else bystander
    assert owner is not None
    order = order_services.order_place(customer=owner, draft=OrderDraft(lines=(DraftLine(product.id, 1),))).order
    coupon = order_services.coupon_create(code="SAVE10", percent_off=Decimal(10))
    webhook = make_webhook_endpoint()
    return World(
        caller, bystander, UserFactory.create(), product, coupon, order.id, webhook, make_webhook_delivery(webhook)
    )


OPERATIONS = sorted(MATRIX)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p.removeprefix(V1)}" for m, p in OPERATIONS])
def test_each_role_gets_what_the_matrix_says_on_each_operation(role, method, path):
    row = MATRIX[(method, path)]
    caller = _caller(role)
    world = _world(caller, role)
    client = APIClient() if caller is None else bearer(APIClient(), caller)
    obj = getattr(world, row.obj) if row.obj else None
    object_id = obj if isinstance(obj, int) or obj is None else obj.id
    body = row.body(world)
    before = snapshot()

    r = call(client, method, url(path, object_id), body)

    expected = row.expected[role]
    assert r.status_code == expected, r.content
    assert expected in documented_statuses(method, path), f"{expected} is not documented for {method} {path}"
    if expected == 401:
        assert_single_error(r, 401, "not_authenticated")
        assert r["WWW-Authenticate"].startswith("Bearer")
    elif expected == 403:
        assert_single_error(r, 403, "permission_denied")
    if expected in (401, 403):
        assert snapshot() == before
    assert all(h in r for h in RATE_HEADERS), dict(r.headers)  # refusals are counted too
    others = [] if role in ("staff", "superuser") else [world.bystander.email, world.target.email]
    assert_no_secrets(r, foreign_emails=others)
