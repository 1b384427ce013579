"""Lists run a fixed number of queries, however long the page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory import services
from tests.factories import make_product

pytestmark = pytest.mark.django_db


def count_queries(client, url, params):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    return len(ctx), response.json()


def test_product_list_runs_the_same_two_queries_for_1_or_100_rows(anon):
    for _ in range(100):
        make_product()
    one, body_one = count_queries(anon, "/api/v1/products/", {"page_size": 1})
    hundred, body_hundred = count_queries(anon, "/api/v1/products/", {"page_size": 100})
    assert (len(body_one["results"]), len(body_hundred["results"])) == (1, 100)
    assert one == hundred <= 2  # count + page


def test_product_list_query_count_for_staff_does_not_grow_with_the_page(staff_api):
    for _ in range(30):
        make_product(is_active=False)
    one, _ = count_queries(staff_api, "/api/v1/products/", {"page_size": 1, "search": "SKU", "ordering": "price"})
    thirty, _ = count_queries(staff_api, "/api/v1/products/", {"page_size": 100, "search": "SKU", "ordering": "price"})
    assert one == thirty


def test_stock_movement_list_runs_the_same_queries_for_1_or_100_rows(staff_api, staff):
    product = make_product(stock=1)
    for i in range(99):
        services.stock_adjust(product=product, delta=1, reason=f"delivery {i}", created_by_id=staff.id)
    url = f"/api/v1/products/{product.id}/stock-movements/"
    one, body_one = count_queries(staff_api, url, {"page_size": 1})
    hundred, body_hundred = count_queries(staff_api, url, {"page_size": 100})
    assert (len(body_one["results"]), len(body_hundred["results"])) == (1, 100)
    assert body_hundred["results"][0]["created_by"] == staff.id
    assert one == hundred <= 4  # user, product, count, page
