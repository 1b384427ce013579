"""Redis going away: the API keeps answering from the database, quickly, and
caching and limits come back with Redis.

Each test runs this process against a private redis-server on a free port
(started here, then killed, replaced by a socket that never answers, or
paused), so the shared Redis of the run is never disturbed.
"""

import logging
import os
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import caches
from django_redis import get_redis_connection

from config.platform import breaker, ratelimit, read_cache
from tests.config.helpers import ORDERS, PRODUCTS, TOKEN, assert_throttled, product_url, token_body
from tests.factories import DEFAULT_PASSWORD, make_product
from tests.support.services import HungServer, RedisServer, redis_cache_settings

pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL"),
        reason="needs REDIS_URL (CI sets it): these tests run the Redis cache and limiter against a private "
        "redis-server that they kill, hang and restart",
    ),
    pytest.mark.django_db(transaction=True),  # writes commit: the cache is invalidated at commit
]

DEADLINE = 3.0  # seconds: bounded by the 0.5 s socket timeouts, never a hang


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def on_private_redis(redis_server, settings):
    """Point this process's cache and limiter at the private server."""
    settings.REDIS_URL = redis_server.url
    settings.CACHES = redis_cache_settings(redis_server.url)
    # The setting_changed signal has reset Django's cache handler: make sure.
    assert type(caches["default"]).__module__.startswith("django_redis")
    assert get_redis_connection("default").connection_pool.connection_kwargs["port"] == redis_server.port
    assert isinstance(ratelimit.store(), ratelimit.RedisStore)
    read_cache.reset()
    return redis_server


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    start = time.monotonic()
    response = call()
    return response, time.monotonic() - start


def assert_the_api_answers_quickly(anon, customer, customer_api, product) -> None:
    """Product list, order placement and login answer 2xx within the deadline:
    first each meeting the outage itself, then with the breaker open."""
    calls = {
        "product list": (lambda: anon.get(PRODUCTS), 200),
        "order placement": (
            lambda: customer_api.post(ORDERS, {"lines": [{"product_id": product.id, "quantity": 1}]}),
            201,
        ),
        "login": (lambda: anon.post(TOKEN, token_body(customer.email, DEFAULT_PASSWORD)), 200),
    }
    for breaker_open in (False, True):
        for name, (call, status) in calls.items():
            if not breaker_open:
                read_cache.reset()  # this request meets Redis, not the memory of an earlier failure
            response, took = timed(call)
            assert response.status_code == status, (name, breaker_open, response.content)
            assert took < DEADLINE, (name, breaker_open, took)


def assert_caching_and_limits_work(anon, settings, django_assert_num_queries) -> None:
    url = f"{PRODUCTS}?ordering=-created_at"
    first = anon.get(url)
    assert first.status_code == 200
    with django_assert_num_queries(0):
        second = anon.get(url)
    assert second.json() == first.json()

    settings.RATE_LIMIT_AUTH = "2/min"
    assert [anon.post(TOKEN, token_body("x@example.com", "x")).status_code for _ in range(2)] == [401, 401]
    r = anon.post(TOKEN, token_body("x@example.com", "x"))
    assert_throttled(r.status_code, r.headers, r.json(), limit=2, period=60)


def test_with_redis_killed_the_api_answers_and_caching_and_limits_resume_after_a_restart(
    on_private_redis, anon, customer, customer_api, settings, monkeypatch, django_assert_num_queries, caplog
):
    server = on_private_redis
    product = make_product(stock=50)
    assert_caching_and_limits_work(anon, settings, django_assert_num_queries)
    assert server.client().keys("stockroom:*")  # the entries really live in the private server
    settings.RATE_LIMIT_AUTH = "20/min"
    failures, hits = ratelimit.failures, read_cache.stats["hits"]
    monkeypatch.setattr(breaker, "BACKOFF_SECONDS", 1.0)

    server.kill()
    caplog.set_level(logging.WARNING)
    assert_the_api_answers_quickly(anon, customer, customer_api, product)
    assert ratelimit.failures > failures  # counted
    assert read_cache.stats["hits"] == hits  # the pages came from the database
    logged = {r.name for r in caplog.records if r.levelno == logging.WARNING}
    assert "config.platform.ratelimit" in logged, logged  # the first to meet the failure says so

    server.start()  # the same port, empty
    time.sleep(breaker.BACKOFF_SECONDS)  # the breaker closes by itself
    assert read_cache.available()
    assert_caching_and_limits_work(anon, settings, django_assert_num_queries)


def test_with_redis_hung_the_api_answers_and_caching_and_limits_resume_after_a_restart(
    on_private_redis, anon, customer, customer_api, settings, django_assert_num_queries
):
    server = on_private_redis
    product = make_product(stock=50)
    failures = ratelimit.failures

    server.kill()
    hung = HungServer(port=server.port)  # accepts on Redis's port and never answers
    try:
        assert_the_api_answers_quickly(anon, customer, customer_api, product)
        assert hung.accepted  # the requests really met the hung socket
        assert ratelimit.failures > failures
    finally:
        hung.close()

    server.start()
    read_cache.reset()
    assert_caching_and_limits_work(anon, settings, django_assert_num_queries)


def test_a_price_change_made_while_redis_was_hung_is_seen_when_it_comes_back(
    on_private_redis, anon, staff_api, django_assert_num_queries
):
    """Redis paused (SIGSTOP) keeps its entries; when it answers again the
    entry cached before the write must not be served."""
    server = on_private_redis
    product = make_product(price="10.00")
    url = product_url(product.id)
    assert anon.get(url).json()["price"] == "10.00"
    with django_assert_num_queries(0):
        assert anon.get(url).json()["price"] == "10.00"

    server.pause()
    try:
        read_cache.reset()
        patched, took = timed(lambda: staff_api.patch(url, {"price": "12.34"}))
        assert patched.status_code == 200 and took < DEADLINE, (patched.content, took)
        fresh, took = timed(lambda: anon.get(url))
        assert fresh.json()["price"] == "12.34" and took < DEADLINE
    finally:
        server.resume()

    read_cache.reset()  # as when the breaker's backoff has passed
    assert anon.get(url).json()["price"] == "12.34"
    with django_assert_num_queries(0):
        assert anon.get(url).json()["price"] == "12.34"


@pytest.mark.parametrize("outage", ["killed", "hung"])
def test_the_cache_itself_answers_from_compute_at_once_when_redis_is_gone(on_private_redis, outage):
    server = on_private_redis
    assert read_cache.cached("things", ("a",), 60, lambda: "cached") == "cached"
    errors = read_cache.stats["errors"]

    server.kill()
    hung = HungServer(port=server.port) if outage == "hung" else None
    try:
        read_cache.reset()
        value, took = timed(lambda: read_cache.cached("things", ("a",), 60, lambda: "computed"))
        assert value == "computed" and took < 1.0, took  # one socket timeout at most
        read_cache.reset()
        _, took = timed(lambda: read_cache.changed("things"))
        assert took < 1.0, took
        assert read_cache.stats["errors"] >= errors + 2
    finally:
        if hung is not None:
            hung.close()
