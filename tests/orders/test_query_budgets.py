"""Orders render their customer and lines in a constant number of queries.

The numbers are what the code does today; a change that adds a query per
order or per line makes the larger sizes differ from the smaller ones.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.db import bulk
from orders import services
from orders.domain.placement import DraftLine, OrderDraft
from orders.models import Coupon
from tests.factories import make_product
from tests.orders.helpers import ORDERS, order_url

pytestmark = pytest.mark.django_db

# JWT user + the order with its customer and its lines (one query, JOINs).
DETAIL_QUERIES = 2
# JWT user + the page of orders with their customers + the page's lines.
LIST_QUERIES = 3


def place_orders(customer, *, orders: int, lines: int) -> list[int]:
    products = [make_product(stock=orders) for _ in range(lines)]
    draft = OrderDraft(lines=tuple(DraftLine(p.id, 1) for p in products))
    return [services.order_place(customer=customer, draft=draft).order.id for _ in range(orders)]


@pytest.mark.parametrize("n_lines", [1, 20])
def test_order_detail_queries_do_not_grow_with_lines(customer_api, customer, n_lines, django_assert_num_queries):
    (order_id,) = place_orders(customer, orders=1, lines=n_lines)

    with django_assert_num_queries(DETAIL_QUERIES):
        r = customer_api.get(order_url(order_id))

    assert r.status_code == 200
    assert len(r.json()["lines"]) == n_lines


@pytest.mark.parametrize(("n_orders", "n_lines"), [(1, 1), (1, 20), (50, 1), (50, 20)])
def test_order_list_queries_do_not_grow_with_orders_or_lines(
    customer_api, staff_api, customer, n_orders, n_lines, django_assert_num_queries
):
    place_orders(customer, orders=n_orders, lines=n_lines)

    for api in (customer_api, staff_api):
        with django_assert_num_queries(LIST_QUERIES):
            r = api.get(ORDERS, {"page_size": 100})
        results = r.json()["results"]
        assert len(results) == n_orders
        assert {len(o["lines"]) for o in results} == {n_lines}
        assert {o["customer"]["id"] for o in results} == {customer.id}


def placing_queries(api, *, n_lines: int, coupon: str | None) -> int:
    products = [make_product(stock=5) for _ in range(n_lines)]
    body: dict = {"lines": [{"product_id": p.id, "quantity": 1} for p in products]}
    if coupon:
        body["coupon"] = coupon
    with CaptureQueriesContext(connection) as ctx:
        r = api.post(ORDERS, body, format="json")
    assert r.status_code == 201, r.content
    assert len(r.json()["lines"]) == n_lines
    return len(ctx.captured_queries)


# JWT user; SAVEPOINT (order_place: the test's transaction is around it; in
# production it is the transaction itself); lock and read the products, stock
# included; on SQLite, which has no sequence, the INSERT of the order (on
# PostgreSQL its key is this process's, drawn ahead 50 at a time: the draw is
# made before counting); then the INSERT of the order, the UPDATE of stock,
# the INSERT of the movements, the INSERT of the lines, the INSERT of the
# order's placed event, the INSERT of the confirmation email into the outbox
# and the look for webhook endpoints (none here: nothing more is written or
# published) — on PostgreSQL one statement (config.db.bulk.writes_gathered),
# on SQLite (no writable CTEs) one each; RELEASE. A coupon adds its lock and
# its times_used UPDATE.
PLACE_QUERIES = 5 if connection.vendor == "postgresql" else 11
PLACE_WITH_COUPON_QUERIES = PLACE_QUERIES + 2


def test_order_place_runs_the_same_queries_for_1_and_20_lines(customer_api):
    Coupon.objects.create(code="BUDGET", percent_off=5)
    bulk.forget_drawn_keys()
    placing_queries(customer_api, n_lines=1, coupon=None)  # draws this process's block of keys
    counts = {
        (n_lines, coupon): placing_queries(customer_api, n_lines=n_lines, coupon=coupon)
        for n_lines in (1, 20)
        for coupon in (None, "BUDGET")
    }
    assert counts == {
        (1, None): PLACE_QUERIES,
        (20, None): PLACE_QUERIES,
        (1, "BUDGET"): PLACE_WITH_COUPON_QUERIES,
        (20, "BUDGET"): PLACE_WITH_COUPON_QUERIES,
    }
