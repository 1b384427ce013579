"""OWASP API4:2023 Unrestricted resource consumption.

Every bound is enforced before the work it bounds, answered in the envelope
(never a 500): page sizes and report limits (every query parameter the schema
gives a maximum), the lines and quantities of an order, the body size
(DATA_UPLOAD_MAX_MEMORY_SIZE, 1 MiB: 413), JSON nesting, the number of query
parameters, and request rates — refused requests included.

Already proved elsewhere: the rate-limit algorithm and the per-scope limits,
their headers and 429s (tests/config/test_api_ratelimit.py,
tests/config/test_domain_ratelimit.py); query counts that do not grow with
page sizes (tests/*/test_query_budgets.py).
"""

import json
from typing import Any

import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from orders import services as order_services
from orders.domain.placement import DraftLine, OrderDraft
from tests.conftest import bearer
from tests.factories import UserFactory, make_product, make_webhook_endpoint
from tests.security.helpers import assert_envelope, assert_single_error, call, operation, operations, snapshot, url

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"
ONE_MIB = 1_048_576


@pytest.fixture
def boss() -> APIClient:
    """A superuser may call every operation, so only the bound can refuse."""
    return bearer(APIClient(), UserFactory.create(is_staff=True, is_superuser=True))


@pytest.fixture
def ids(db: None) -> dict[str, int]:
    customer = UserFactory.create()
    product = make_product(stock=100)
    order = order_services.order_place(customer=customer, draft=OrderDraft(lines=(DraftLine(product.id, 1),))).order
    coupon = order_services.coupon_create(code="CAP10", percent_off=10)
    return {
        "products": product.id,
        "orders": order.id,
        "coupons": coupon.id,
        "users": customer.id,
        "webhooks": make_webhook_endpoint().id,
    }


def _object_url(path: str, ids: dict[str, int]) -> str:
    """The path with {id} filled by an object of the collection it names."""
    return url(path, ids[path.split("/")[3]]) if "{id}" in path else path


BOUNDED = [
    (method, path, p["name"], p["schema"]["maximum"])
    for method, path in operations()
    for p in operation(method, path).get("parameters", [])
    if p["in"] == "query" and "maximum" in p.get("schema", {})
]


def test_every_list_has_a_bounded_page_size():
    bounded = {(m, p) for m, p, name, _ in BOUNDED if name == "page_size"}
    lists = {
        (m, p)
        for m, p in operations()
        if {"page", "cursor"} & {x["name"] for x in operation(m, p).get("parameters", [])}
    }
    assert lists and lists <= bounded, sorted(lists - bounded)
    assert {maximum for *_, name, maximum in BOUNDED if name == "page_size"} == {100}


@pytest.mark.parametrize(("method", "path", "name", "maximum"), BOUNDED, ids=[f"{p} {n}" for _, p, n, _ in BOUNDED])
def test_a_query_bound_is_enforced_one_past_its_maximum(boss, ids, method, path, name, maximum):
    target = _object_url(path, ids)

    over = call(boss, method, f"{target}?{name}={maximum + 1}")
    at = call(boss, method, f"{target}?{name}={maximum}")
    huge = call(boss, method, f"{target}?{name}={10**30}")

    assert_envelope(over, 400, type="validation_error", attr=name)
    assert_envelope(huge, 400, type="validation_error", attr=name)
    assert at.status_code == 200, at.content


@pytest.mark.parametrize(
    ("lines", "attr", "code"),
    [
        ([{"product_id": i, "quantity": 1} for i in range(1, 102)], "lines", "max_length"),
        ([{"product_id": 1, "quantity": 1001}], "lines.0.quantity", "max_value"),
        ([{"product_id": 1, "quantity": 10**30}], "lines.0.quantity", "max_value"),
    ],
    ids=["101-distinct-lines", "quantity-1001", "quantity-10e30"],
)
def test_an_order_over_its_caps_is_refused_before_any_product_is_read(
    customer_api, django_assert_max_num_queries, lines, attr, code
):
    make_product(stock=10_000)
    before = snapshot()

    with django_assert_max_num_queries(1):  # the signed-in user, nothing else
        r = customer_api.post(ORDERS, {"lines": lines}, format="json")

    errors = assert_envelope(r, 400, type="validation_error", code=code, attr=attr)
    assert len(errors) == 1, errors
    assert snapshot() == before


def test_the_body_limit_is_one_mib_by_default():
    assert django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE == ONE_MIB


def _padded(body: dict[str, Any], size: int) -> bytes:
    """``body`` plus a ``pad`` field, as JSON of exactly ``size`` bytes."""
    empty = json.dumps({**body, "pad": ""}).encode()
    return json.dumps({**body, "pad": "x" * (size - len(empty))}).encode()


TAKES_A_BODY = [(m, p) for m, p in operations() if "413" in operation(m, p)["responses"]]


def test_every_operation_that_reads_a_body_documents_the_413():
    writes = {(m, p) for m, p in operations() if m in ("POST", "PUT", "PATCH") and "requestBody" in operation(m, p)}
    assert writes == set(TAKES_A_BODY)


@pytest.mark.parametrize(("method", "path"), TAKES_A_BODY, ids=[f"{m} {p}" for m, p in TAKES_A_BODY])
def test_a_body_over_the_limit_is_413_in_the_envelope_and_changes_nothing(boss, ids, method, path):
    before = snapshot()

    r = boss.generic(method, _object_url(path, ids), _padded({}, ONE_MIB + 1), content_type="application/json")

    assert_single_error(r, 413, "request_too_large")
    assert snapshot() == before


def test_a_body_of_exactly_the_limit_is_read(customer_api):
    product = make_product(stock=5)
    body = _padded({"lines": [{"product_id": product.id, "quantity": 1}]}, ONE_MIB)
    assert len(body) == ONE_MIB

    r = customer_api.generic("POST", ORDERS, body, content_type="application/json")

    assert_envelope(r, 400, type="validation_error", code="unknown_field", attr="pad")


def test_json_nested_too_deep_is_a_400_parse_error(customer_api):
    before = snapshot()

    r = customer_api.generic("POST", ORDERS, "[" * 100_000 + "]" * 100_000, content_type="application/json")

    assert_single_error(r, 400, "parse_error")
    assert snapshot() == before


def test_too_many_query_parameters_is_a_400_not_a_500(anon, customer_api):
    query = "&".join(f"f{i}=1" for i in range(django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))

    for client, path in ((anon, "/api/v1/products/"), (customer_api, ORDERS)):
        assert_single_error(call(client, "GET", f"{path}?{query}"), 400, "parse_error")


@pytest.mark.parametrize(
    ("setting", "who", "path", "refused_with"),
    [
        ("RATE_LIMIT_ANON", "anonymous", "/api/v1/users/me/", 401),
        ("RATE_LIMIT_ANON", "anonymous", "/api/v1/orders/", 401),
        ("RATE_LIMIT_USER", "customer", "/api/v1/users/", 403),
        ("RATE_LIMIT_USER", "customer", "/api/v1/reports/top-customers/", 403),
    ],
)
def test_refused_requests_are_counted_so_probing_is_rate_limited_too(settings, setting, who, path, refused_with):
    setattr(settings, setting, "3/min")
    client = APIClient() if who == "anonymous" else bearer(APIClient(), UserFactory.create())

    answers = [client.get(path) for _ in range(4)]

    assert [r.status_code for r in answers] == [refused_with] * 3 + [429]
    assert [r["X-RateLimit-Remaining"] for r in answers] == ["2", "1", "0", "0"]
    assert_single_error(answers[-1], 429, "throttled")
    assert int(answers[-1]["Retry-After"]) >= 1
