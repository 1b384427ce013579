"""Three small bounds on what a client can make the server do or keep:
``Cache-Control: no-store`` on every answer to a signed-in request, rate
limits that count an IPv6 client by its /64, and a pagination cursor that
is either one DRF wrote or a 400."""

from base64 import b64decode, b64encode
from urllib.parse import parse_qs, urlparse

import pytest

from config.platform.ratelimit import address_key
from tests.config.helpers import ORDERS, PRODUCTS, TOKEN, product_url, token_body
from tests.factories import make_product
from tests.orders.helpers import errors, place
from tests.support.logs import request_lines

pytestmark = pytest.mark.django_db


# --- Cache-Control: no-store when signed in -----------------------------------------------------


def no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_every_answer_to_a_signed_in_request_is_no_store_errors_included(customer_api, staff_api):
    product = make_product(stock=5)
    placed = place(customer_api, (product, 1))
    assert placed.status_code == 201, placed.content

    answers = {
        "order created": placed,
        "orders": customer_api.get(ORDERS),
        "an order": customer_api.get(f"{ORDERS}{placed.json()['id']}/"),
        "the catalog": customer_api.get(PRODUCTS),
        "a product": customer_api.get(product_url(product.id)),
        "staff catalog": staff_api.get(PRODUCTS),
        "404 order": customer_api.get(f"{ORDERS}999999/"),
        "403 staff only": customer_api.post(PRODUCTS, {"sku": "X-1", "name": "X", "price": "1.00"}),
        "400 bad input": customer_api.post(ORDERS, {"lines": []}),
        "405": customer_api.put(ORDERS, {}),
        "404 no such path": customer_api.get("/api/v1/no-such-thing/"),
    }

    assert {name: r.status_code for name, r in answers.items()} == {
        "order created": 201,
        "orders": 200,
        "an order": 200,
        "the catalog": 200,
        "a product": 200,
        "staff catalog": 200,
        "404 order": 404,
        "403 staff only": 403,
        "400 bad input": 400,
        "405": 405,
        "404 no such path": 404,
    }
    assert [name for name, r in answers.items() if not no_store(r)] == []


def test_anonymous_catalog_answers_stay_cacheable(anon):
    product = make_product()
    for url in (PRODUCTS, product_url(product.id), PRODUCTS):  # a miss, then a hit
        r = anon.get(url)
        assert r.status_code == 200
        assert not no_store(r), r.get("Cache-Control")


# --- Rate limits key IPv6 clients by their /64 ----------------------------------------------------


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("fe80::1%eth0", "fe80::/64"),
        ("not-an-address", "not-an-address"),
        ("", ""),
    ],
)
def test_the_rate_limit_key_of_an_address(address, key):
    assert address_key(address) == key


def test_anonymous_requests_from_one_ipv6_64_share_one_limit(anon, settings):
    settings.RATE_LIMIT_ANON = "3/min"

    def get(address: str) -> int:
        return anon.get("/api/v1/products/", REMOTE_ADDR=address).status_code

    same_64 = ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::99"]
    assert [get(a) for a in same_64] == [200, 200, 200, 429]
    assert get("2001:db8:1:3::1") == 200  # the next /64 is another client


def test_an_ipv4_mapped_address_is_counted_as_the_ipv4_client(anon, settings):
    settings.RATE_LIMIT_ANON = "2/min"
    statuses = [anon.get(PRODUCTS, REMOTE_ADDR=a).status_code for a in ("192.0.2.7", "::ffff:192.0.2.7", "192.0.2.7")]
    assert statuses == [200, 200, 429]


def test_sign_in_attempts_from_one_ipv6_64_behind_a_trusted_proxy_share_one_limit(anon, settings):
    settings.RATE_LIMIT_AUTH = "2/min"
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    def attempt(address: str) -> int:
        return anon.post(
            TOKEN, token_body("a@example.com", "wrong"), REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=address
        ).status_code

    assert [attempt(f"2001:db8:9:9::{n}") for n in range(1, 4)] == [401, 401, 429]
    assert attempt("2001:db8:9:a::1") == 401


def test_logs_keep_the_full_client_address(anon, capsys):
    anon.get(PRODUCTS, REMOTE_ADDR="2001:db8:1:2::1")
    lines = request_lines(capsys.readouterr().err)
    assert [line["client_ip"] for line in lines] == ["2001:db8:1:2::1"]


# --- A malformed cursor is a 400 ------------------------------------------------------------------


def cursor_of(link: str) -> str:
    return parse_qs(urlparse(link).query)["cursor"][0]


@pytest.fixture
def orders_of_customer(customer_api) -> list[int]:
    product = make_product(stock=50)
    return [place(customer_api, (product, 1)).json()["id"] for _ in range(3)]


def test_the_cursors_drf_writes_are_followed(customer_api, orders_of_customer):
    first = customer_api.get(f"{ORDERS}?page_size=1").json()
    second = customer_api.get(first["next"])
    assert second.status_code == 200, second.content
    back = customer_api.get(second.json()["previous"])
    assert back.status_code == 200, back.content
    assert back.json()["results"] == first["results"]


def b64(text: str) -> str:
    return b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "",  # DRF: the first page
        b64(""),
        b64("x=1"),  # no key DRF knows: the first page
        b64("o=0"),  # DRF never writes a zero offset
        b64("o=01&p=2026-01-01+00%3A00%3A00%2B00%3A00"),
        b64("r=0&p=2026-01-01+00%3A00%3A00%2B00%3A00"),
        b64("p=2026-01-01+00%3A00%3A00%2B00%3A00&junk=1"),
        "!!!",
        "cD0yMDI2",  # "p=2026": not a timestamp (refused before this change too)
    ],
    ids=[
        "empty",
        "empty-b64",
        "unknown-key",
        "zero-offset",
        "leading-zero",
        "reverse-0",
        "extra-key",
        "junk",
        "p-2026",
    ],
)
def test_a_cursor_drf_would_not_write_is_a_400_on_cursor(customer_api, orders_of_customer, cursor):
    r = customer_api.get(ORDERS, {"cursor": cursor})
    assert r.status_code == 400, r.content
    assert errors(r) == [("invalid", "cursor")]


def test_a_real_cursor_spelled_differently_is_a_400(customer_api, orders_of_customer):
    real = cursor_of(customer_api.get(f"{ORDERS}?page_size=1").json()["next"])
    assert b64decode(real)  # a real one
    for spelling in (real + "!", real.rstrip("=") + "\n", " " + real):
        r = customer_api.get(ORDERS, {"cursor": spelling, "page_size": 1})
        assert r.status_code == 400, (spelling, r.content)
