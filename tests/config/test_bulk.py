"""bulk_insert stores what bulk_create stores, in one statement, and sets the keys."""

import pytest
from django.utils import timezone

from config.bulk import bulk_insert
from inventory.models import StockMovement
from orders.models import OrderLine
from tests.factories import make_product
from users.models import User

pytestmark = pytest.mark.django_db

COLUMNS = ("product_id", "delta", "reason", "order_id", "balance_after", "created_by_id")


def movements(product, user) -> list[StockMovement]:
    return [
        StockMovement(
            product=product, delta=-1, reason="ünïcode ‘reason’", order_id=7, balance_after=4, created_by=user
        ),
        StockMovement(product=product, delta=3, reason="", order_id=None, balance_after=7, created_by=None),
    ]


def test_rows_are_the_rows_bulk_create_stores(staff: User, django_assert_num_queries):
    product = make_product(stock=5)
    before = timezone.now()
    with django_assert_num_queries(1):
        ours = bulk_insert(movements(product, staff))
    theirs = StockMovement.objects.bulk_create(movements(product, staff))
    assert all(m.pk is not None and not m._state.adding for m in ours)
    stored = {m.id: m for m in StockMovement.objects.filter(id__in=[m.id for m in ours + theirs])}
    for a, b in zip(ours, theirs, strict=True):
        assert [getattr(stored[a.id], c) for c in COLUMNS] == [getattr(stored[b.id], c) for c in COLUMNS]
        assert before <= stored[a.id].created_at == a.created_at <= timezone.now()


def test_decimals_and_foreign_keys_round_trip(customer):
    from orders import services
    from orders.domain.placement import DraftLine, OrderDraft

    product = make_product(price="12.50", stock=5)
    order = services.order_place(customer=customer, draft=OrderDraft((DraftLine(product.id, 1),)))
    (line,) = OrderLine.objects.filter(order=order)
    assert (line.unit_price, line.line_total, line.position, line.product_id) == (
        product.price,
        product.price,
        0,
        product.id,
    )


def test_only_new_instances_of_one_model(staff):
    product = make_product(stock=5)
    (saved,) = bulk_insert(movements(product, staff)[:1])
    with pytest.raises(ValueError):
        bulk_insert([saved])
    assert bulk_insert([]) == []
