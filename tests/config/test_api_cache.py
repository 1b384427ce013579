"""The read cache through the API: product pages and the top-customers report
are served from the cache, and never stale after a write.

The writes here commit, as every write request does (a cache entry is
invalidated when the write that changed it commits): what the tests prove is
that a write is visible to the very next read.
"""

import os
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.platform import read_cache
from tests.config.helpers import ORDERS, PRODUCTS, TOP_CUSTOMERS, product_url
from tests.factories import make_product
from tests.support.recording import redis_round_trips

pytestmark = pytest.mark.django_db(transaction=True)


def listed(response) -> dict[int, dict]:
    assert response.status_code == 200, response.content
    return {p["id"]: p for p in response.json()["results"]}


def read(client, url: str) -> Any:
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json()


# --- Hits ----------------------------------------------------------------------------------


def test_the_second_identical_anonymous_product_list_runs_no_queries(anon, django_assert_num_queries):
    for price in ("3.00", "1.00", "2.00"):
        make_product(price=price)
    url = f"{PRODUCTS}?ordering=price&page_size=2"
    first = anon.get(url)
    assert first.status_code == 200

    with django_assert_num_queries(0):
        second = anon.get(url)
    assert second.status_code == 200
    assert second.json() == first.json()
    assert [p["price"] for p in first.json()["results"]] == ["1.00", "2.00"]


def test_the_second_identical_anonymous_product_detail_runs_no_queries(anon, django_assert_num_queries):
    product = make_product(price="4.50")
    first = read(anon, product_url(product.id))

    with django_assert_num_queries(0):
        assert read(anon, product_url(product.id)) == first
    assert first["price"] == "4.50"


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (CI sets it): counts round trips to Redis")
@pytest.mark.parametrize("who", ["anonymous", "staff"])
def test_a_cached_product_page_is_one_round_trip_the_limits_and_the_caches_own_command(
    who, anon, staff_api, monkeypatch
):
    """One round trip to Redis a page: the rate limiter's script, and the
    read cache's lookup (its own script: the version and the entry) riding
    with it (config.platform.redis_pipeline)."""
    client = anon if who == "anonymous" else staff_api
    product = make_product(price="4.50")
    urls = [f"{PRODUCTS}?page_size=5", product_url(product.id)]
    first = [read(client, url) for url in urls]
    trips = redis_round_trips(monkeypatch)
    before = dict(read_cache.stats)
    again = [client.get(url) for url in urls]

    assert [r.json() for r in again] == first
    assert read_cache.stats["hits"] - before["hits"] == 2
    assert all(r["X-RateLimit-Limit"] for r in again)  # the limits were counted
    assert [[command[0] for command in trip] for trip in trips] == [["EVALSHA", "EVALSHA"]] * 2
    for limits, lookup in trips:
        assert any(":rl:" in arg for arg in limits)
        assert not any(":rl:" in arg for arg in lookup) and any("v:catalog" in arg for arg in lookup)


def test_a_cached_page_is_not_served_when_the_limit_refuses(anon, settings):
    make_product()
    settings.RATE_LIMIT_ANON = "2/min"
    assert [anon.get(PRODUCTS).status_code for _ in range(3)] == [200, 200, 429]
    assert "results" not in anon.get(PRODUCTS).json()


def test_a_lookup_made_ahead_for_a_refused_request_is_never_served_later(anon, staff_api, settings):
    """The page's lookup rides the limits' round trip, so a refused request
    has looked its page up too: what it found is dropped, and a later request
    after a price change gets the new price."""
    product = make_product(price="5.00")
    assert listed(anon.get(PRODUCTS))[product.id]["price"] == "5.00"
    settings.RATE_LIMIT_ANON = "1/min"
    assert anon.get(PRODUCTS).status_code in (200, 429)
    assert anon.get(PRODUCTS).status_code == 429  # looked up ahead (with Redis), not served
    assert staff_api.patch(product_url(product.id), {"price": "6.00"}).status_code == 200
    settings.RATE_LIMIT_ANON = "600/min"
    from config.platform import ratelimit

    ratelimit.store().clear()
    assert listed(anon.get(PRODUCTS))[product.id]["price"] == "6.00"


def test_another_query_string_is_another_page_not_a_hit(anon):
    for price in ("3.00", "1.00"):
        make_product(price=price)
    cheap_first = read(anon, f"{PRODUCTS}?ordering=price")
    dear_first = read(anon, f"{PRODUCTS}?ordering=-price")
    assert [p["price"] for p in cheap_first["results"]] == ["1.00", "3.00"]
    assert [p["price"] for p in dear_first["results"]] == ["3.00", "1.00"]


def test_cache_stats_count_hits_and_misses(anon):
    make_product()
    before = dict(read_cache.stats)
    anon.get(PRODUCTS)
    anon.get(PRODUCTS)
    anon.get(PRODUCTS)
    anon.get(f"{PRODUCTS}?ordering=price")
    assert read_cache.stats["misses"] - before["misses"] == 2
    assert read_cache.stats["hits"] - before["hits"] == 2


# --- Never stale after a write -----------------------------------------------------------------


def test_a_staff_price_change_is_visible_on_the_very_next_anonymous_read(anon, staff_api, django_assert_num_queries):
    product = make_product(price="10.00")
    url = product_url(product.id)
    read(anon, url)
    read(anon, PRODUCTS)
    with django_assert_num_queries(0):  # both are cached now
        read(anon, url)
        read(anon, PRODUCTS)

    patched = staff_api.patch(url, {"price": "12.34"})
    assert patched.status_code == 200, patched.content

    assert read(anon, url)["price"] == "12.34"
    assert listed(anon.get(PRODUCTS))[product.id]["price"] == "12.34"


def test_a_stock_adjustment_is_visible_on_the_very_next_read(anon, staff_api):
    product = make_product(stock=10)
    url = product_url(product.id)
    assert read(anon, url)["stock"] == 10
    assert listed(anon.get(PRODUCTS))[product.id]["stock"] == 10
    assert read(staff_api, url)["stock"] == 10

    r = staff_api.post(f"{url}stock-adjustments/", {"delta": -3, "reason": "breakage"})
    assert r.status_code == 201, r.content

    assert read(anon, url)["stock"] == 7
    assert listed(anon.get(PRODUCTS))[product.id]["stock"] == 7
    assert read(staff_api, url)["stock"] == 7


def test_an_order_placed_and_cancelled_changes_stock_on_the_next_read(anon, customer_api):
    product = make_product(stock=10)
    url = product_url(product.id)
    assert read(anon, url)["stock"] == 10
    assert listed(anon.get(f"{PRODUCTS}?in_stock=true"))[product.id]["stock"] == 10

    placed = customer_api.post(ORDERS, {"lines": [{"product_id": product.id, "quantity": 10}]})
    assert placed.status_code == 201, placed.content
    assert read(anon, url)["stock"] == 0
    assert product.id not in listed(anon.get(f"{PRODUCTS}?in_stock=true"))

    cancelled = customer_api.post(f"{ORDERS}{placed.json()['id']}/cancel/")
    assert cancelled.status_code == 200, cancelled.content
    assert read(anon, url)["stock"] == 10
    assert listed(anon.get(f"{PRODUCTS}?in_stock=true"))[product.id]["stock"] == 10


def test_products_created_deactivated_and_deleted_show_at_once(anon, staff_api):
    kept = make_product()
    read(anon, PRODUCTS)

    created = staff_api.post(PRODUCTS, {"sku": "NEW-1", "name": "New", "price": "1.00", "stock": 3})
    assert created.status_code == 201, created.content
    new_id = created.json()["id"]
    assert set(listed(anon.get(PRODUCTS))) == {kept.id, new_id}
    read(anon, product_url(new_id))

    assert staff_api.patch(product_url(new_id), {"is_active": False}).status_code == 200
    assert set(listed(anon.get(PRODUCTS))) == {kept.id}
    assert anon.get(product_url(new_id)).status_code == 404

    assert staff_api.delete(product_url(kept.id)).status_code == 204
    assert set(listed(anon.get(PRODUCTS))) == set()
    assert anon.get(product_url(kept.id)).status_code == 404


def test_a_write_made_while_the_cache_was_failing_is_not_hidden_when_the_cache_is_back(anon, staff_api):
    product = make_product(price="10.00")
    url = product_url(product.id)
    assert read(anon, url)["price"] == "10.00"  # cached

    read_cache.mark_failed(ConnectionError("simulated: the cache did not answer"))
    assert staff_api.patch(url, {"price": "12.34"}).status_code == 200
    assert read(anon, url)["price"] == "12.34"  # from the database meanwhile

    read_cache.reset()  # the cache is back, with the entry cached before the write
    assert read(anon, url)["price"] == "12.34"
    assert listed(anon.get(PRODUCTS))[product.id]["price"] == "12.34"


class BrokenCache:
    """A cache whose every call fails, as django-redis does when Redis is gone."""

    def __getattr__(self, name: str):
        def fail(*args, **kwargs):
            raise ConnectionError("simulated: Redis is unreachable")

        return fail


def test_a_failing_cache_is_skipped_and_counted_never_a_500(anon, staff_api, customer_api, monkeypatch):
    product = make_product(price="10.00", stock=5)
    monkeypatch.setattr(read_cache, "cache", BrokenCache())
    errors = read_cache.stats["errors"]

    assert read(anon, PRODUCTS)["results"][0]["price"] == "10.00"
    read_cache.reset()
    assert staff_api.patch(product_url(product.id), {"price": "11.00"}).status_code == 200
    read_cache.reset()
    assert customer_api.post(ORDERS, {"lines": [{"product_id": product.id, "quantity": 1}]}).status_code == 201
    read_cache.reset()
    assert read(anon, product_url(product.id))["stock"] == 4
    assert read(staff_api, TOP_CUSTOMERS)[0]["order_count"] == 1

    assert read_cache.stats["errors"] >= errors + 4


# --- Staff and anonymous variants never mix ----------------------------------------------------


def test_an_inactive_product_cached_for_staff_is_never_served_to_anonymous(anon, staff_api, customer_api):
    active = make_product()
    hidden = make_product(is_active=False)

    assert set(listed(staff_api.get(PRODUCTS))) == {active.id, hidden.id}
    assert read(staff_api, product_url(hidden.id))["is_active"] is False

    assert set(listed(anon.get(PRODUCTS))) == {active.id}
    assert set(listed(customer_api.get(PRODUCTS))) == {active.id}
    assert anon.get(product_url(hidden.id)).status_code == 404
    assert customer_api.get(product_url(hidden.id)).status_code == 404


def test_a_page_cached_for_anonymous_is_never_served_to_staff(anon, staff_api):
    active = make_product()
    hidden = make_product(is_active=False)

    assert set(listed(anon.get(PRODUCTS))) == {active.id}
    assert anon.get(product_url(hidden.id)).status_code == 404

    assert set(listed(staff_api.get(PRODUCTS))) == {active.id, hidden.id}
    assert read(staff_api, product_url(hidden.id))["id"] == hidden.id


# --- The top-customers report -------------------------------------------------------------------


def report_queries_on_orders(client) -> tuple[list, int]:
    """The report, and how many queries of that request read the orders table."""
    with CaptureQueriesContext(connection) as queries:
        body = read(client, TOP_CUSTOMERS)
    return body, sum(1 for q in queries.captured_queries if "orders_order" in q["sql"])


def test_the_top_customers_report_is_cached_and_an_order_placed_or_cancelled_changes_it(
    staff_api, customer_api, customer
):
    product = make_product(price="10.00", stock=100)

    assert report_queries_on_orders(staff_api) == ([], 1)
    assert report_queries_on_orders(staff_api) == ([], 0)  # from the cache

    placed = customer_api.post(ORDERS, {"lines": [{"product_id": product.id, "quantity": 2}]})
    assert placed.status_code == 201, placed.content
    expected = [
        {
            "customer": {"id": customer.id, "email": customer.email, "username": customer.username},
            "order_count": 1,
            "total_spent": "20.00",
        }
    ]
    assert report_queries_on_orders(staff_api) == (expected, 1)
    assert report_queries_on_orders(staff_api) == (expected, 0)
    assert customer_api.get(TOP_CUSTOMERS).status_code == 403  # cached for staff, still staff only

    assert customer_api.post(f"{ORDERS}{placed.json()['id']}/cancel/").status_code == 200
    assert report_queries_on_orders(staff_api) == ([], 1)


def test_each_report_size_is_its_own_entry(staff_api, customer_api, other_api):
    product = make_product(price="10.00", stock=100)
    for api, quantity in ((customer_api, 1), (other_api, 3)):
        r = api.post(ORDERS, {"lines": [{"product_id": product.id, "quantity": quantity}]})
        assert r.status_code == 201, r.content

    assert [row["total_spent"] for row in read(staff_api, f"{TOP_CUSTOMERS}?limit=1")] == ["30.00"]
    assert [row["total_spent"] for row in read(staff_api, f"{TOP_CUSTOMERS}?limit=5")] == ["30.00", "10.00"]
