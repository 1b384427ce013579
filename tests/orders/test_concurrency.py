"""Concurrent orders on PostgreSQL, with real threads and real row locks.

SQLite serialises every writer, so it cannot prove any of this: these tests
run only with DATABASE_URL=postgres://… (and must not be skipped there).

Each thread has its own APIClient and its own database connection, which it
closes when done. All threads start together at a barrier; a semaphore keeps
at most MAX_IN_DATABASE of them inside the database at once, because the
server's max_connections (100) is shared with other test runs.
"""

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from inventory.models import StockMovement
from orders.models import Coupon, IdempotencyKey, Order
from tests.conftest import requires_postgres
from tests.factories import UserFactory, make_product
from tests.orders.helpers import ORDERS, errors, ledger_sum, stock

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

MAX_IN_DATABASE = 20
JOIN_TIMEOUT = 120


class Reply:
    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body

    def json(self) -> Any:
        return self.body


def auth_header(user) -> str:
    return f"Bearer {RefreshToken.for_user(user).access_token}"


def post_order(header: str, body: dict, key: str | None = None) -> Callable[[], Reply]:
    def job() -> Reply:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        extra: dict[str, Any] = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
        r = client.post(ORDERS, body, format="json", **extra)
        return Reply(r.status_code, r.json())

    return job


def run_together(jobs: list[Callable[[], Reply]]) -> list[Reply]:
    """Start every job at once in its own thread; fail on any exception (a 500
    raises in the test client) or a thread that never finishes."""
    barrier = threading.Barrier(len(jobs))
    gate = threading.BoundedSemaphore(MAX_IN_DATABASE)
    results: list[Any] = [None] * len(jobs)

    def worker(index: int, job: Callable[[], Reply]) -> None:
        try:
            barrier.wait(timeout=30)
            with gate:
                try:
                    results[index] = job()
                finally:
                    connection.close()
        except BaseException as exc:
            results[index] = exc

    threads = [threading.Thread(target=worker, args=(i, job), daemon=True) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a request never finished (a lock wait?)"
    failures = [r for r in results if not isinstance(r, Reply)]
    assert not failures, failures[:3]
    assert not [r for r in results if r.status >= 500], "a request failed with a server error"
    return results


def test_concurrent_orders_never_oversell():
    product = make_product(stock=20)
    headers = [auth_header(UserFactory.create()) for _ in range(10)]
    body = {"lines": [{"product_id": product.id, "quantity": 1}]}

    replies = run_together([post_order(headers[i % 10], body) for i in range(100)])

    assert Counter(r.status for r in replies) == {201: 20, 409: 80}
    for r in replies:
        if r.status == 409:
            assert errors(r) == [("insufficient_stock", "lines.0.quantity")]
    assert stock(product) == 0
    assert ledger_sum(product) == stock(product)
    assert Order.objects.count() == 20
    assert StockMovement.objects.filter(product_id=product.id, order_id__isnull=False).count() == 20
    assert {r.body["id"] for r in replies if r.status == 201} == set(Order.objects.values_list("id", flat=True))


def test_concurrent_orders_take_a_limited_coupon_exactly_max_uses_times():
    coupon = Coupon.objects.create(code="FIVE", percent_off=10, max_uses=5)
    products = [make_product(stock=10) for _ in range(30)]  # one each: only the coupon is contended
    headers = [auth_header(UserFactory.create()) for _ in range(10)]

    replies = run_together(
        [
            post_order(headers[i % 10], {"lines": [{"product_id": p.id, "quantity": 1}], "coupon": "five"})
            for i, p in enumerate(products)
        ]
    )

    assert Counter(r.status for r in replies) == {201: 5, 400: 25}
    for r in replies:
        if r.status == 201:
            assert r.body["coupon"] == "FIVE"
        else:
            assert errors(r) == [("coupon_used_up", "coupon")]
    coupon.refresh_from_db()
    assert coupon.times_used == 5
    assert Order.objects.filter(coupon=coupon).count() == 5
    assert sorted(stock(p) for p in products) == [9] * 5 + [10] * 25


def test_concurrent_requests_with_one_idempotency_key_make_one_order():
    product = make_product(stock=50)
    header = auth_header(UserFactory.create())
    body = {"lines": [{"product_id": product.id, "quantity": 2}]}

    replies = run_together([post_order(header, body, key="same-key") for _ in range(10)])

    statuses = Counter(r.status for r in replies)
    assert set(statuses) <= {201, 409}, statuses
    assert statuses[201] >= 1
    created = [r.body for r in replies if r.status == 201]
    assert all(b == created[0] for b in created)
    for r in replies:
        if r.status == 409:
            assert errors(r) == [("idempotency_key_in_use", None)]
    assert Order.objects.count() == 1
    assert Order.objects.get().id == created[0]["id"]
    assert stock(product) == 48
    assert IdempotencyKey.objects.count() == 1


def test_orders_locking_products_in_opposite_order_never_deadlock():
    a = make_product(stock=40)
    b = make_product(stock=40)
    first, second = auth_header(UserFactory.create()), auth_header(UserFactory.create())
    ab = {"lines": [{"product_id": a.id, "quantity": 1}, {"product_id": b.id, "quantity": 1}]}
    ba = {"lines": [{"product_id": b.id, "quantity": 1}, {"product_id": a.id, "quantity": 1}]}

    for _ in range(20):
        replies = run_together([post_order(first, ab), post_order(second, ba)])
        assert [r.status for r in replies] == [201, 201], [r.body for r in replies]

    assert (stock(a), stock(b)) == (0, 0)
    assert (ledger_sum(a), ledger_sum(b)) == (0, 0)
    assert Order.objects.count() == 40
