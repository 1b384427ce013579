"""Stock under real concurrency: PostgreSQL row locks and real threads."""

import threading
from collections import Counter

import pytest
from django.db import connection
from django.db.models import Sum
from rest_framework.test import APIClient

from inventory.models import Product, StockMovement
from tests.conftest import bearer, requires_postgres
from tests.factories import UserFactory, make_product

THREADS = 20


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_adjustments_never_oversell():
    staff = UserFactory(is_staff=True)
    product = make_product(stock=10)
    barrier = threading.Barrier(THREADS)
    statuses: list[int] = []
    bodies: list[dict] = []
    lock = threading.Lock()

    def take_one() -> None:
        try:
            client = bearer(APIClient(), staff)
            barrier.wait(timeout=30)
            response = client.post(
                f"/api/v1/products/{product.id}/stock-adjustments/", {"delta": -1, "reason": "concurrent"}
            )
            with lock:
                statuses.append(response.status_code)
                bodies.append(response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=take_one) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)

    assert Counter(statuses) == {201: 10, 409: 10}, bodies
    assert all(b["errors"][0]["code"] == "insufficient_stock" for b in bodies if "errors" in b)
    product.refresh_from_db()
    assert product.stock == 0
    ledger = StockMovement.objects.filter(product=product)
    assert ledger.aggregate(s=Sum("delta"))["s"] == product.stock
    taken = ledger.filter(delta=-1)
    assert sorted(taken.values_list("balance_after", flat=True)) == list(range(10))
    assert Product.objects.filter(stock__lt=0).count() == 0
