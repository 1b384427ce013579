"""Rate limits through the API, on whatever store the run has: the process's
own without REDIS_URL, Redis (the atomic Lua script) with it."""

from collections import Counter

import pytest
from rest_framework.test import APIClient

from config.platform import ratelimit
from tests.config.helpers import (
    ORDERS,
    PRODUCTS,
    REGISTER,
    TOKEN,
    assert_throttled,
    product_url,
    rate_headers,
    token_body,
)
from tests.factories import DEFAULT_PASSWORD, UserFactory, make_product
from tests.support.threads import run_together

pytestmark = pytest.mark.django_db

STRONG_PASSWORD = "s3cret-Passw0rd!-kiwi"


def register_body(n: int) -> dict[str, str]:
    return {"email": f"new{n}@example.com", "username": f"new{n}", "password": STRONG_PASSWORD}


def order_body(product_id: int) -> dict:
    return {"lines": [{"product_id": product_id, "quantity": 1}]}


# --- The auth limit: register and token together, per client IP --------------------------


def test_register_and_token_share_the_auth_limit_and_the_sixth_request_gets_429(anon, settings):
    settings.RATE_LIMIT_AUTH = "5/min"
    user = UserFactory.create()
    calls = [
        lambda: anon.post(REGISTER, register_body(1)),
        lambda: anon.post(TOKEN, token_body(user.email, DEFAULT_PASSWORD)),
        lambda: anon.post(REGISTER, register_body(2)),
        lambda: anon.post(TOKEN, token_body(user.email, "wrong password")),
        lambda: anon.post(REGISTER, register_body(3)),
    ]
    responses = [call() for call in calls]

    assert [r.status_code for r in responses] == [201, 200, 201, 401, 201]
    assert [rate_headers(r.headers)[:2] for r in responses] == [(5, 4), (5, 3), (5, 2), (5, 1), (5, 0)]

    sixth = anon.post(TOKEN, token_body(user.email, DEFAULT_PASSWORD))
    assert_throttled(sixth.status_code, sixth.headers, sixth.json(), limit=5, period=60)
    assert "access" not in sixth.json()

    seventh = anon.post(REGISTER, register_body(4))  # register is refused too: one budget
    assert_throttled(seventh.status_code, seventh.headers, seventh.json(), limit=5, period=60)


def test_the_auth_limit_defaults_to_20_per_minute(anon):
    r = anon.post(TOKEN, token_body("nobody@example.com", "x"))
    assert r.status_code == 401
    assert rate_headers(r.headers)[:2] == (20, 19)


def test_a_rejected_registration_still_counts_and_carries_the_headers(anon, settings):
    settings.RATE_LIMIT_AUTH = "2/min"
    bad = anon.post(REGISTER, {"email": "not-an-email", "username": "x", "password": "x"})
    assert bad.status_code == 400
    assert rate_headers(bad.headers)[:2] == (2, 1)
    assert anon.post(REGISTER, register_body(1)).status_code == 201
    r = anon.post(REGISTER, register_body(2))
    assert_throttled(r.status_code, r.headers, r.json(), limit=2, period=60)


@pytest.mark.django_db(transaction=True)  # the threads' connections see the user
def test_100_simultaneous_login_attempts_against_a_limit_of_10_let_exactly_10_through(settings):
    settings.RATE_LIMIT_AUTH = "10/hour"  # nothing comes back while the test runs
    user = UserFactory.create()
    body = token_body(user.email, "a wrong password")
    statuses = run_together(lambda: APIClient().post(TOKEN, body).status_code, 100, timeout=120)

    assert Counter(statuses) == {401: 10, 429: 90}


# --- The headers, on every response of a limited endpoint --------------------------------


def test_every_anonymous_response_carries_the_anon_limit(anon):
    product = make_product()
    first = anon.get(PRODUCTS)
    second = anon.get(PRODUCTS)
    missing = anon.get(product_url(product.id + 1000))

    assert first.status_code == 200 and second.status_code == 200 and missing.status_code == 404
    assert rate_headers(first.headers)[:2] == (600, 599)
    assert rate_headers(second.headers)[:2] == (600, 598)  # a cached answer is counted too
    assert rate_headers(missing.headers)[:2] == (600, 597)
    assert 0 < rate_headers(first.headers)[2] <= 60


def test_signed_in_responses_carry_the_user_limit_and_order_creation_the_tighter_one(customer_api):
    product = make_product(stock=5)
    listed = customer_api.get(PRODUCTS)
    placed = customer_api.post(ORDERS, order_body(product.id))
    invalid = customer_api.post(ORDERS, {"lines": []})

    assert listed.status_code == 200 and placed.status_code == 201 and invalid.status_code == 400
    assert rate_headers(listed.headers)[:2] == (3000, 2999)
    assert rate_headers(placed.headers)[:2] == (60, 59)  # orders (60/min) is tighter than the user's 3000
    assert rate_headers(invalid.headers)[:2] == (60, 58)


# --- The orders limit, per user -------------------------------------------------------------


def test_order_creation_is_limited_per_user_not_per_address(customer_api, other_api, settings):
    settings.RATE_LIMIT_ORDERS = "2/min"
    product = make_product(stock=10)

    assert [customer_api.post(ORDERS, order_body(product.id)).status_code for _ in range(2)] == [201, 201]
    third = customer_api.post(ORDERS, order_body(product.id))
    assert_throttled(third.status_code, third.headers, third.json(), limit=2, period=60)

    # Same address, another user: a budget of its own.
    assert other_api.post(ORDERS, order_body(product.id)).status_code == 201
    # Reading orders is not order creation.
    assert customer_api.get(ORDERS).status_code == 200


def test_placing_an_order_counts_against_both_its_limits_in_one_call_to_the_store(
    customer_api, settings, monkeypatch
) -> None:
    settings.RATE_LIMIT_ORDERS, settings.RATE_LIMIT_USER = "2/min", "3/min"
    real = ratelimit.store()
    calls: list[list[str]] = []

    class Counting:
        def check_many(self, checks):
            calls.append([key.split(":")[0] for key, _ in checks])
            return real.check_many(checks)

    monkeypatch.setattr(ratelimit, "store", lambda: Counting())
    product = make_product(stock=10)
    statuses = [customer_api.post(ORDERS, order_body(product.id)).status_code for _ in range(3)]
    listed = customer_api.get(ORDERS)

    assert calls == [["user", "orders"]] * 3 + [["user"]]  # one round trip a request
    assert statuses == [201, 201, 429]  # the orders limit refused the third
    assert listed.status_code == 429  # and the third order still counted against the user's 3/min
    assert rate_headers(listed.headers)[:2] == (3, 0)


# --- Client identity: X-Forwarded-For only from our own proxies ----------------------------


def test_a_spoofed_forwarded_for_from_an_untrusted_peer_does_not_change_the_key(anon, settings):
    settings.RATE_LIMIT_AUTH = "2/min"
    settings.TRUSTED_PROXIES = []
    statuses = [
        anon.post(TOKEN, token_body("a@example.com", "x"), HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
        for n in range(1, 4)
    ]
    assert statuses == [401, 401, 429]


def test_forwarded_for_from_another_untrusted_address_is_not_believed_either(anon, settings):
    settings.RATE_LIMIT_AUTH = "1/min"
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    kwargs = {"REMOTE_ADDR": "192.0.2.7"}  # not one of ours
    assert (
        anon.post(TOKEN, token_body("a@example.com", "x"), HTTP_X_FORWARDED_FOR="198.51.100.1", **kwargs).status_code
        == 401
    )
    r = anon.post(TOKEN, token_body("a@example.com", "x"), HTTP_X_FORWARDED_FOR="198.51.100.2", **kwargs)
    assert r.status_code == 429


def test_forwarded_for_from_a_trusted_proxy_names_the_client(anon, settings):
    settings.RATE_LIMIT_AUTH = "2/min"
    settings.TRUSTED_PROXIES = ["127.0.0.1"]

    def attempt(forwarded_for: str) -> int:
        return anon.post(TOKEN, token_body("a@example.com", "x"), HTTP_X_FORWARDED_FOR=forwarded_for).status_code

    assert [attempt("203.0.113.1") for _ in range(3)] == [401, 401, 429]
    # Another client behind the same proxy has its own budget...
    assert attempt("203.0.113.2") == 401
    # ...and a client cannot escape by prepending addresses: the hop our proxy
    # added (the rightmost one that is not ours) is the client.
    assert attempt("192.0.2.55, 203.0.113.1") == 429


def test_forwarded_for_through_a_chain_of_trusted_proxies_finds_the_first_untrusted_hop(anon, settings):
    settings.RATE_LIMIT_AUTH = "1/min"
    settings.TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]

    def attempt(forwarded_for: str) -> int:
        return anon.post(TOKEN, token_body("a@example.com", "x"), HTTP_X_FORWARDED_FOR=forwarded_for).status_code

    assert attempt("203.0.113.7, 10.1.2.3") == 401
    assert attempt("203.0.113.7") == 429  # the same client, whatever proxies it came through
    assert attempt("203.0.113.8, 10.9.9.9, 10.1.2.3") == 401


# --- Fail open -------------------------------------------------------------------------------


class BrokenStore:
    def check(self, key, rate):
        raise ConnectionError("the store is down")

    def check_many(self, checks):
        raise ConnectionError("the store is down")

    def clear(self) -> None:
        raise ConnectionError("the store is down")


def test_when_the_store_fails_requests_are_served_and_the_failure_is_counted(anon, customer_api, settings, monkeypatch):
    settings.RATE_LIMIT_AUTH = "1/min"
    settings.RATE_LIMIT_ORDERS = "1/min"
    monkeypatch.setattr(ratelimit, "store", lambda: BrokenStore())
    product = make_product(stock=10)
    before = ratelimit.failures

    token_statuses = [anon.post(TOKEN, token_body("a@example.com", "x")).status_code for _ in range(3)]
    order_statuses = [customer_api.post(ORDERS, order_body(product.id)).status_code for _ in range(3)]
    listed = anon.get(PRODUCTS)

    assert token_statuses == [401, 401, 401]
    assert order_statuses == [201, 201, 201]
    assert listed.status_code == 200
    assert ratelimit.failures >= before + 7
