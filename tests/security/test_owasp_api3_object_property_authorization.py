"""OWASP API3:2023 Broken object property level authorization.

Mass assignment: every write takes exactly the fields its contract names.
A field it does not take — a flag (`is_staff`), a state (`status`), an owner
(`customer`), a price or total, a derived count (`stock`, `times_used`) — is
refused with a 400 on that attr (config.api.serializers.InputSerializer), the
request changes nothing, and the same request without that field succeeds.

Excessive data exposure: no response of any operation holds a password, its
hash or another user's email — checked on every operation of the schema for
every role in test_owasp_api5_function_level_authorization.py, and here on a
customer's own orders with other customers' orders around.
"""

import copy
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from orders import services as order_services
from orders.domain.placement import DraftLine, OrderDraft
from tests.conftest import bearer
from tests.factories import UserFactory, make_product
from tests.security.helpers import assert_envelope, assert_no_secrets, call, snapshot, url
from tests.users.helpers import STRONG_PASSWORD
from users.models import User

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Ctx:
    caller: User | None
    someone_else: User
    product: int
    coupon: int
    order: int


@dataclass(frozen=True)
class Write:
    role: str
    method: str
    path: str
    obj: str | None  # which Ctx attribute fills {id}
    body: Callable[[Ctx], dict[str, Any]]  # a body this write accepts
    succeeds: int


V1 = "/api/v1"
WRITES = {
    "register": Write(
        "anonymous", "POST", f"{V1}/auth/register/", None,
        lambda c: {"email": "fresh@example.com", "username": "fresh", "password": STRONG_PASSWORD}, 201,
    ),
    "me": Write("customer", "PATCH", f"{V1}/users/me/", None, lambda c: {"full_name": "New Name"}, 200),
    "order": Write(
        "customer", "POST", f"{V1}/orders/", None, lambda c: {"lines": [{"product_id": c.product, "quantity": 1}]}, 201
    ),
    "product-create": Write(
        "staff", "POST", f"{V1}/products/", None, lambda c: {"sku": "NEW-1", "name": "New", "price": "3.00"}, 201
    ),
    "product-put": Write(
        "staff", "PUT", f"{V1}/products/{{id}}/", "product",
        lambda c: {"sku": "PUT-1", "name": "Put", "price": "3.00"}, 200,
    ),
    "product-patch": Write("staff", "PATCH", f"{V1}/products/{{id}}/", "product", lambda c: {"name": "Renamed"}, 200),
    "stock-adjustment": Write(
        "staff", "POST", f"{V1}/products/{{id}}/stock-adjustments/", "product",
        lambda c: {"delta": 1, "reason": "recount"}, 201,
    ),
    "coupon-create": Write("staff", "POST", f"{V1}/coupons/", None, lambda c: {"code": "NEW5", "percent_off": "5"}, 201),
    "coupon-patch": Write("staff", "PATCH", f"{V1}/coupons/{{id}}/", "coupon", lambda c: {"is_active": False}, 200),
    "transition": Write(
        "staff", "POST", f"{V1}/orders/{{id}}/transition/", "order", lambda c: {"status": "paid"}, 200
    ),
}  # fmt: skip

OTHER_USER: Any = object()  # stands for another account's id

# (write, attr it must refuse, value an attacker would send)
FORBIDDEN = [
    *[("register", attr, value) for attr, value in [
        ("is_staff", True), ("is_superuser", True), ("is_active", True), ("id", 1),
        ("date_joined", "2000-01-01T00:00:00Z"), ("groups", [1]), ("user_permissions", [1]), ("last_login", None),
    ]],
    *[("me", attr, value) for attr, value in [
        ("is_staff", True), ("is_superuser", True), ("is_active", False), ("email", "takeover@example.com"),
        ("password", "n3w-Passw0rd!-kiwi"), ("id", OTHER_USER), ("date_joined", "2000-01-01T00:00:00Z"),
    ]],
    *[("order", attr, value) for attr, value in [
        ("status", "paid"), ("customer", OTHER_USER), ("customer_id", OTHER_USER), ("subtotal", "0.01"),
        ("discount", "9999.00"), ("total", "0.00"), ("currency", "XXX"), ("id", 1),
        ("lines.0.unit_price", "0.01"), ("lines.0.price", "0.01"), ("lines.0.line_total", "0.01"),
        ("lines.0.sku", "CHEAP"), ("lines.0.name", "Free"),
    ]],
    ("product-create", "currency", "XXX"),
    ("product-create", "id", 1),
    ("product-put", "stock", 1_000_000),
    ("product-patch", "stock", 1_000_000),
    ("product-patch", "currency", "XXX"),
    ("stock-adjustment", "balance_after", 1_000_000),
    ("stock-adjustment", "order_id", 1),
    ("stock-adjustment", "created_by", OTHER_USER),
    ("coupon-create", "times_used", 0),
    ("coupon-patch", "times_used", 0),
    ("transition", "customer", OTHER_USER),
    ("transition", "total", "0.00"),
]  # fmt: skip


def _set(body: dict[str, Any], attr: str, value: Any) -> dict[str, Any]:
    """``body`` with ``value`` at the dotted path ``attr`` (``lines.0.price``)."""
    body = copy.deepcopy(body)
    *parents, last = attr.split(".")
    node: Any = body
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[last] = value
    return body


def _ctx(caller: User | None) -> Ctx:
    someone_else = UserFactory.create()
    product = make_product(price="10.00", stock=20)
    order = order_services.order_place(customer=someone_else, draft=OrderDraft(lines=(DraftLine(product.id, 1),))).order
    coupon = order_services.coupon_create(code="TEN", percent_off=Decimal(10))
    return Ctx(caller, someone_else, product.id, coupon.id, order.id)


@pytest.mark.parametrize(("write", "attr", "value"), FORBIDDEN, ids=[f"{w}-{a}" for w, a, _ in FORBIDDEN])
def test_a_write_refuses_a_field_it_does_not_take_and_changes_nothing(write, attr, value):
    spec = WRITES[write]
    caller = None if spec.role == "anonymous" else UserFactory.create(is_staff=spec.role == "staff")
    client = APIClient() if caller is None else bearer(APIClient(), caller)
    ctx = _ctx(caller)
    path = url(spec.path, getattr(ctx, spec.obj) if spec.obj else None)
    body = spec.body(ctx)
    before = snapshot()

    r = call(client, spec.method, path, _set(body, attr, ctx.someone_else.id if value is OTHER_USER else value))

    errors = assert_envelope(r, 400, type="validation_error", code="unknown_field", attr=attr)
    assert [(e["code"], e["attr"]) for e in errors] == [("unknown_field", attr)]
    assert snapshot() == before
    # The control: the same write without that field is accepted.
    assert call(client, spec.method, path, body).status_code == spec.succeeds


def test_a_customers_orders_show_their_own_email_and_no_one_elses(client_for):
    me, neighbour = UserFactory.create(email="me@example.com"), UserFactory.create(email="neighbour@example.com")
    product = make_product(price="4.00", stock=20)
    theirs = order_services.order_place(customer=neighbour, draft=OrderDraft(lines=(DraftLine(product.id, 1),))).order
    api = client_for(me)

    mine = api.post(f"{V1}/orders/", {"lines": [{"product_id": product.id, "quantity": 2}]}, format="json")
    responses = [
        mine,
        api.get(f"{V1}/orders/"),
        api.get(f"{V1}/orders/", {"status": "pending", "page_size": 100}),
        api.get(f"{V1}/orders/{mine.json()['id']}/"),
        api.post(f"{V1}/orders/{mine.json()['id']}/cancel/"),
        api.get(f"{V1}/orders/{theirs.id}/"),
        api.post(f"{V1}/orders/", {"lines": [{"product_id": product.id, "quantity": 1000}]}, format="json"),
    ]

    assert [r.status_code for r in responses] == [201, 200, 200, 200, 200, 404, 409]
    assert mine.json()["customer"] == {"id": me.id, "email": "me@example.com", "username": me.username}
    for r in responses:
        assert_no_secrets(r, foreign_emails=["neighbour@example.com"])
    assert [o["id"] for o in responses[1].json()["results"]] == [mine.json()["id"]]
