"""Stock under real concurrency: PostgreSQL row locks and real threads."""

from collections import Counter

import pytest
from django.db.models import Sum
from rest_framework.test import APIClient

from inventory.models import Product, StockMovement
from tests.conftest import bearer, requires_postgres
from tests.factories import UserFactory, make_product
from tests.support.threads import run_together

THREADS = 20


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_adjustments_never_oversell():
    staff = UserFactory.create(is_staff=True)
    product = make_product(stock=10)

    def take_one() -> tuple[int, dict]:
        response = bearer(APIClient(), staff).post(
            f"/api/v1/products/{product.id}/stock-adjustments/", {"delta": -1, "reason": "concurrent"}
        )
        return response.status_code, response.json()

    answers = run_together(take_one, THREADS)
    statuses, bodies = [status for status, _ in answers], [body for _, body in answers]

    assert Counter(statuses) == {201: 10, 409: 10}, bodies
    assert all(b["errors"][0]["code"] == "insufficient_stock" for b in bodies if "errors" in b)
    product.refresh_from_db()
    assert product.stock == 0
    ledger = StockMovement.objects.filter(product=product)
    assert ledger.aggregate(s=Sum("delta"))["s"] == product.stock
    taken = ledger.filter(delta=-1)
    assert sorted(taken.values_list("balance_after", flat=True)) == list(range(10))
    assert Product.objects.filter(stock__lt=0).count() == 0
