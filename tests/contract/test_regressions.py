"""What the fuzzer found, kept: each case it (or probing next to it) turned up,
replayed through the Django test client and held to the served schema with
the fuzzer's own checks — no 5xx, a documented status code and content type,
and a body the schema describes."""

import base64
import functools
import re
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from orders.models import Coupon, Order
from tests.factories import make_product

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (requirements.txt)")

import requests  # noqa: E402 — schemathesis' own dependency
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.django_db

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@functools.cache
def served_schema() -> Any:
    response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return schemathesis.openapi.from_dict(response.json())


def conforms(response: Any, route: str) -> Any:
    """Fail unless ``response`` (from the test client) is what the served
    schema documents for its method on ``route`` (``/api/v1/orders/{id}/``);
    returns the parsed body."""
    method = response.request["REQUEST_METHOD"]
    path = response.request["PATH_INFO"]
    template = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route))
    matched = re.fullmatch(template, path)
    assert matched, f"{path} is not {route}"
    url = f"http://testserver{path}"
    if query := response.request.get("QUERY_STRING"):
        url += f"?{query}"
    received = schemathesis.Response(
        status_code=response.status_code,
        headers={name.lower(): [value] for name, value in response.items()},
        content=response.content,
        request=requests.Request(method, url).prepare(),
        elapsed=0.0,
        verify=False,
        message=response.reason_phrase,
    )
    case = served_schema()[route][method].Case(path_parameters=matched.groupdict())
    case.validate_response(received, checks=CHECKS)
    return response.json() if response.content else None


def error(body: dict[str, Any]) -> tuple[str, str, str | None]:
    """(type, code, attr) of an envelope with one error."""
    assert len(body["errors"]) == 1, body
    return body["type"], body["errors"][0]["code"], body["errors"][0]["attr"]


# --- Bad query parameters on lists without filters: a documented 400 ------------
# Found by the fuzzer: these lists validate ?page=, ?page_size= and ?limit=, but
# the schema documented only a parse error (client_error) for their 400.


@pytest.mark.parametrize(
    ("url", "route", "attr"),
    [
        ("/api/v1/coupons/?page_size=101", "/api/v1/coupons/", "page_size"),
        ("/api/v1/users/?page=0&page_size=1", "/api/v1/users/", "page"),
        ("/api/v1/reports/top-customers/?limit=0", "/api/v1/reports/top-customers/", "limit"),
    ],
)
def test_a_bad_query_parameter_on_a_list_without_filters_is_a_documented_400(staff_api, url, route, attr):
    r = staff_api.get(url)
    assert r.status_code == 400
    assert error(conforms(r, route)) == ("validation_error", "invalid" if attr != "limit" else "min_value", attr)


def test_a_bad_page_of_the_stock_ledger_is_a_documented_400(staff_api):
    product = make_product()
    r = staff_api.get(f"/api/v1/products/{product.id}/stock-movements/?page_size=33&page=-26552")
    assert r.status_code == 400
    assert error(conforms(r, "/api/v1/products/{id}/stock-movements/")) == ("validation_error", "invalid", "page")


# --- Datetimes that leave the calendar once in UTC ------------------------------
# Found by the fuzzer: ?created_after=0001-01-01T00:26:16+13:17 is year 0 in UTC;
# the database adapter raised OverflowError and the answer was a 500.


@pytest.mark.parametrize(
    ("name", "value"),
    [("created_after", "0001-01-01T00:26:16+13:17"), ("created_before", "9999-12-31T23:59:59-05:00")],
)
def test_an_order_filter_datetime_out_of_range_in_utc_is_a_400(staff_api, name, value):
    r = staff_api.get("/api/v1/orders/", {name: value})
    assert r.status_code == 400
    assert error(conforms(r, "/api/v1/orders/")) == ("validation_error", "overflow", name)


def test_an_order_filter_datetime_at_the_edge_of_the_calendar_still_filters(customer_api):
    r = customer_api.get("/api/v1/orders/", {"created_after": "0001-01-01T00:00:00Z"})
    assert r.status_code == 200
    conforms(r, "/api/v1/orders/")


# --- Cursors made by hand ----------------------------------------------------------
# Found next to the fuzzer (its cursors are random strings): a well-formed
# cursor whose position is not a timestamp, base64("p=2026"), reached the query
# and PostgreSQL refused it: a 500. Every cursor that is not one we made is a 400.


def _cursor(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [_cursor("p=2026"), _cursor("p=0001-01-01 00:00:00+05:00"), _cursor("p=2026-13-45 00:00:00"), "abc"],
)
def test_a_cursor_we_did_not_make_is_a_400_on_cursor(customer_api, cursor):
    r = customer_api.get("/api/v1/orders/", {"cursor": cursor})
    assert r.status_code == 400
    assert error(conforms(r, "/api/v1/orders/")) == ("validation_error", "invalid", "cursor")


def test_the_cursor_the_api_hands_out_still_pages(customer_api, customer):
    product = make_product(stock=10)
    for _ in range(3):
        assert (
            customer_api.post("/api/v1/orders/", {"lines": [{"product_id": product.id, "quantity": 1}]}).status_code
            == 201
        )
    first = customer_api.get("/api/v1/orders/", {"page_size": 2})
    nxt = conforms(first, "/api/v1/orders/")["next"]
    second = customer_api.get(nxt)
    assert second.status_code == 200
    assert len(conforms(second, "/api/v1/orders/")["results"]) == 1


# --- NUL bytes: PostgreSQL refuses them in text, so the API must first -----------


@pytest.mark.parametrize(
    ("url", "route", "attr"),
    [
        ("/api/v1/users/?search=a%00b", "/api/v1/users/", "search"),  # attr was null (DRF's SearchFilter)
        ("/api/v1/products/?search=a%00b", "/api/v1/products/", "search"),
    ],
)
def test_a_nul_byte_in_a_search_is_a_400_on_search(staff_api, url, route, attr):
    r = staff_api.get(url)
    assert r.status_code == 400
    assert error(conforms(r, route)) == ("validation_error", "null_characters_not_allowed", attr)


@pytest.mark.parametrize("field", ["sku", "name", "description"])
def test_a_nul_byte_in_a_product_field_is_a_400_on_that_field(staff_api, field):
    body = {"sku": "NUL-1", "name": "Nul", "price": "1.00", field: "a\x00b"}
    r = staff_api.post("/api/v1/products/", body)
    assert r.status_code == 400
    errors = conforms(r, "/api/v1/products/")["errors"]
    assert {e["attr"] for e in errors} == {field}
    assert "null_characters_not_allowed" in {e["code"] for e in errors}


def test_a_nul_byte_in_a_coupon_code_of_an_order_is_a_400_on_coupon(customer_api):
    product = make_product()
    r = customer_api.post("/api/v1/orders/", {"lines": [{"product_id": product.id, "quantity": 1}], "coupon": "\x00"})
    assert r.status_code == 400
    assert "coupon" in {e["attr"] for e in conforms(r, "/api/v1/orders/")["errors"]}


# --- Huge integers and non-ASCII ----------------------------------------------------


def test_an_id_beyond_a_bigint_is_a_404_not_a_500(staff_api):
    for route in ("/api/v1/products/{id}/", "/api/v1/users/{id}/", "/api/v1/coupons/{id}/", "/api/v1/orders/{id}/"):
        r = staff_api.get(route.replace("{id}", "9" * 30))
        assert r.status_code == 404, route
        conforms(r, route)


def test_a_product_id_beyond_a_bigint_in_an_order_is_a_400_on_that_line(customer_api):
    r = customer_api.post("/api/v1/orders/", {"lines": [{"product_id": 10**30, "quantity": 1}]})
    assert r.status_code == 400
    assert error(conforms(r, "/api/v1/orders/")) == ("validation_error", "max_value", "lines.0.product_id")


def test_a_product_named_in_any_script_is_created_and_read_back(staff_api):
    r = staff_api.post("/api/v1/products/", {"sku": "UNI-1", "name": "Tasse ☕ — 茶杯 😀", "price": "3.50"})
    assert r.status_code == 201
    body = conforms(r, "/api/v1/products/")
    assert body["name"] == "Tasse ☕ — 茶杯 😀"


# --- Money that floats ----------------------------------------------------------------
# Found by the fuzzer (make fuzz, on SQLite): 414 × 9.99 less 10% is 3722.27, but
# the CHECK total = subtotal − discount ran in SQLite's floats (3722.2699999999995)
# and refused the row: a 500. The check now compares in cents.


def test_an_order_whose_total_is_inexact_in_floating_point_is_placed(customer_api):
    product = make_product(price="9.99", stock=1000)
    Coupon.objects.create(code="FUZZ10", percent_off=Decimal("10"))
    r = customer_api.post(
        "/api/v1/orders/", {"coupon": "FUZZ10", "lines": [{"product_id": product.id, "quantity": 414}]}
    )
    assert r.status_code == 201
    body = conforms(r, "/api/v1/orders/")
    assert (body["subtotal"], body["discount"], body["total"]) == ("4135.86", "413.59", "3722.27")


def test_the_database_still_refuses_a_total_that_is_not_subtotal_less_discount(customer):
    order = Order.objects.create(customer=customer, subtotal=Decimal("4135.86"), discount=Decimal("413.59"),
                                 total=Decimal("3722.27"))  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(id=order.id).update(total=Decimal("3722.28"))


# --- The schema says what the API refuses -------------------------------------------
# Found by the fuzzer's warnings ("schema validation mismatch"): its "valid"
# bodies were refused for fields the schema allowed. The schema now states the
# API's rules, so valid bodies reach the services (and the stateful links).


def test_request_bodies_are_documented_as_closed_and_the_api_refuses_an_unknown_field(staff_api):
    components = served_schema().raw_schema["components"]["schemas"]
    for name in ("ProductCreateInputRequest", "OrderCreateInputRequest", "OrderLineInputRequest"):
        assert components[name]["additionalProperties"] is False, name
    r = staff_api.post("/api/v1/products/", {"sku": "X-1", "name": "X", "price": "1.00", "stock_level": 3})
    assert r.status_code == 400
    assert error(conforms(r, "/api/v1/products/")) == ("validation_error", "unknown_field", "stock_level")


def test_the_number_of_order_lines_is_documented(customer_api):
    lines = served_schema().raw_schema["components"]["schemas"]["OrderCreateInputRequest"]["properties"]["lines"]
    assert (lines["minItems"], lines["maxItems"]) == (1, 100)
    r = customer_api.post("/api/v1/orders/", {"lines": []})
    assert r.status_code == 400
    assert error(conforms(r, "/api/v1/orders/"))[2] == "lines"


@pytest.mark.parametrize(
    ("price", "valid"), [("0", True), ("12.5", True), (".5", True), ("-1.00", False), ("", False), (".", False)]
)
def test_the_price_pattern_accepts_what_the_api_accepts(staff_api, price, valid):
    pattern = served_schema().raw_schema["components"]["schemas"]["ProductCreateInputRequest"]["properties"]["price"]
    assert bool(re.fullmatch(pattern["pattern"], price)) is valid
    r = staff_api.post("/api/v1/products/", {"sku": "P-1", "name": "P", "price": price})
    assert r.status_code == (201 if valid else 400)
    conforms(r, "/api/v1/products/")


# --- 429s: the fuzzer runs with limits raised out of its way, so here ------------


def test_a_429_from_every_limit_is_schema_conformant(settings, anon, customer_api, customer):
    settings.RATE_LIMIT_AUTH = "1/min"
    settings.RATE_LIMIT_ORDERS = "1/min"
    settings.RATE_LIMIT_USER = "3/min"
    body = {"email": "nobody@example.com", "password": "wrong-password"}
    answers = [anon.post("/api/v1/auth/token/", body) for _ in range(2)]
    assert [a.status_code for a in answers] == [401, 429]
    assert error(conforms(answers[1], "/api/v1/auth/token/"))[:2] == ("client_error", "throttled")
    assert int(answers[1]["Retry-After"]) >= 1

    product = make_product(stock=10)
    order = {"lines": [{"product_id": product.id, "quantity": 1}]}
    answers = [customer_api.post("/api/v1/orders/", order) for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 429]
    conforms(answers[1], "/api/v1/orders/")

    answers = [customer_api.get("/api/v1/users/me/") for _ in range(3)]  # the user limit: 2 spent on the orders
    assert answers[-1].status_code == 429
    conforms(answers[-1], "/api/v1/users/me/")


# --- A request line over the HTTP server's limit --------------------------------------
# Found by the fuzzer: a ~6 KB query string is refused by gunicorn itself
# (limit_request_line) with a 414 and its own HTML page, before Django sees it.
# Only a real server shows that answer: test_fuzz.py replays it against one.


def test_every_operation_documents_the_servers_414():
    for path, operations in served_schema().raw_schema["paths"].items():
        for method, operation in operations.items():
            assert operation["responses"]["414"]["content"] == {"text/html": {"schema": {"type": "string"}}}, (
                method,
                path,
            )
