"""The catalog and stock services, through the database."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.domain_errors import DomainError
from inventory import services
from inventory.domain.ledger import MAX_STOCK, STOCK_COLUMN_MAX, StockChange
from inventory.errors import InsufficientStock, ProductRejected, StockLimitExceeded
from inventory.models import Product, StockMovement
from tests.factories import UserFactory, make_product

pytestmark = pytest.mark.django_db


def ledger_sum(product: Product) -> int:
    return StockMovement.objects.filter(product=product).aggregate(s=Sum("delta"))["s"] or 0


# --- product_create ----------------------------------------------------------


def test_product_create_records_initial_stock_as_the_first_ledger_line():
    user = UserFactory.create(is_staff=True)
    product = services.product_create(sku="A-1", name="A", price=Decimal("1.50"), stock=7, created_by_id=user.id)
    assert product.stock == 7
    (movement,) = StockMovement.objects.filter(product=product)
    assert (movement.delta, movement.balance_after, movement.created_by_id, movement.order_id) == (7, 7, user.id, None)


def test_product_create_with_no_stock_writes_no_movement():
    product = services.product_create(sku="A-1", name="A", price=Decimal("1.50"), created_by_id=None)
    assert product.stock == 0
    assert not StockMovement.objects.filter(product=product).exists()


@pytest.mark.parametrize("clash", ["a-1", "A-1", "a-1".upper()])
def test_product_create_refuses_a_sku_taken_in_any_case(clash):
    make_product(sku="A-1")
    with pytest.raises(ProductRejected) as excinfo:
        services.product_create(sku=clash, name="B", price=Decimal("2"), created_by_id=None)
    assert [(p.code, p.attr) for p in excinfo.value.problems] == [("unique", "sku")]
    assert Product.objects.count() == 1


# --- product_update ----------------------------------------------------------


def test_product_update_changes_the_fields_given_and_never_stock():
    product = make_product(sku="A-1", price="1.00", stock=3)
    services.product_update(product=product, name="New", price=Decimal("2.50"))
    product.refresh_from_db()
    assert (product.name, product.price, product.stock) == ("New", Decimal("2.50"), 3)
    with pytest.raises(ValueError):
        services.product_update(product=product, stock=99)


def test_product_update_refuses_another_products_sku_in_any_case():
    make_product(sku="A-1")
    b = make_product(sku="B-1")
    with pytest.raises(ProductRejected):
        services.product_update(product=b, sku="a-1")
    services.product_update(product=b, sku="b-1")  # its own sku, in another case, is fine
    b.refresh_from_db()
    assert b.sku == "b-1"


# --- product_delete ----------------------------------------------------------


def test_product_delete_removes_a_never_ordered_product_and_its_ledger():
    product = make_product(stock=5)
    services.stock_adjust(product=product, delta=-2, reason="damaged", created_by_id=None)
    assert services.product_delete(product=product) is services.Deletion.DELETED
    assert not Product.objects.filter(id=product.id).exists()
    assert not StockMovement.objects.filter(product_id=product.id).exists()


def test_product_delete_deactivates_a_product_an_order_moved():
    product = make_product(stock=5)
    services.stock_move(
        changes=[StockChange(product.id, -1)], reason="order 123 placed", created_by_id=None, order_id=123
    )
    assert services.product_delete(product=product) is services.Deletion.DEACTIVATED
    product.refresh_from_db()
    assert product.is_active is False
    assert ledger_sum(product) == product.stock == 4
    # Deleting it again keeps it (and its ledger) as they are.
    assert services.product_delete(product=product) is services.Deletion.DEACTIVATED
    assert StockMovement.objects.filter(product=product).count() == 2


# --- stock_move / stock_adjust -------------------------------------------------


def test_stock_adjust_moves_stock_and_appends_a_movement():
    user = UserFactory.create(is_staff=True)
    product = make_product(stock=10)
    before = product.updated_at
    movement = services.stock_adjust(product=product, delta=-4, reason="stock-take", created_by_id=user.id)
    assert product.stock == 6  # the instance handed in is refreshed
    assert (movement.delta, movement.balance_after, movement.reason, movement.created_by_id) == (
        -4,
        6,
        "stock-take",
        user.id,
    )
    product.refresh_from_db()
    assert product.stock == 6 == ledger_sum(product)
    assert product.updated_at > before


def test_stock_adjust_refuses_to_go_below_zero_and_changes_nothing():
    product = make_product(stock=2)
    with pytest.raises(InsufficientStock) as excinfo:
        services.stock_adjust(product=product, delta=-3, reason="x", created_by_id=None)
    assert [(p.code, p.attr) for p in excinfo.value.problems] == [("insufficient_stock", "delta")]
    product.refresh_from_db()
    assert product.stock == 2
    assert StockMovement.objects.filter(product=product).count() == 1


def test_stock_move_is_all_or_nothing_across_products():
    a = make_product(stock=5)
    b = make_product(stock=1)
    with pytest.raises(InsufficientStock) as excinfo:
        services.stock_move(
            changes=[StockChange(a.id, -5, attr="lines.0.quantity"), StockChange(b.id, -2, attr="lines.1.quantity")],
            reason="order",
            created_by_id=None,
            order_id=1,
        )
    assert [p.attr for p in excinfo.value.problems] == ["lines.1.quantity"]
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.stock, b.stock) == (5, 1)
    assert not StockMovement.objects.filter(order_id=1).exists()


def test_stock_move_writes_one_movement_per_change_carrying_the_order_id():
    a = make_product(stock=5)
    b = make_product(stock=5)
    movements = services.stock_move(
        changes=[StockChange(a.id, -2), StockChange(b.id, -1), StockChange(a.id, -3)],
        reason="order 9 placed",
        created_by_id=None,
        order_id=9,
    )
    assert [(m.product_id, m.delta, m.balance_after) for m in movements] == [
        (a.id, -2, 3),
        (b.id, -1, 4),
        (a.id, -3, 0),
    ]
    assert all(m.order_id == 9 and m.pk for m in movements)
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.stock, b.stock) == (0, 4) == (ledger_sum(a), ledger_sum(b))


def test_stock_move_runs_the_same_queries_for_one_change_or_ten():
    def queries_for(n: int) -> int:
        products = [make_product(stock=50) for _ in range(n)]
        with CaptureQueriesContext(connection) as ctx:
            services.stock_move(
                changes=[StockChange(p.id, -1) for p in products], reason="bulk", created_by_id=None, order_id=None
            )
        return len(ctx)

    assert queries_for(1) == queries_for(10)


def test_product_create_refuses_initial_stock_above_max_stock_and_creates_nothing():
    with pytest.raises(StockLimitExceeded) as excinfo:
        services.product_create(sku="A-1", name="A", price=Decimal("1.00"), stock=MAX_STOCK + 1, created_by_id=None)
    assert [(p.code, p.attr) for p in excinfo.value.problems] == [("stock_limit_exceeded", "stock")]
    assert not Product.objects.exists()
    assert services.product_create(sku="A-1", name="A", price=Decimal("1"), stock=MAX_STOCK, created_by_id=None).stock


def test_stock_move_refuses_a_balance_above_the_stock_column_before_the_database_sees_it():
    # Units given back (a cancel) are not bounded by MAX_STOCK, but never go
    # past the 32-bit column: PostgreSQL would fail the UPDATE, SQLite would
    # store a number the column's type does not hold.
    product = make_product(stock=MAX_STOCK)
    services.stock_move(changes=[StockChange(product.id, STOCK_COLUMN_MAX - MAX_STOCK)], reason="x", created_by_id=None)
    with pytest.raises(StockLimitExceeded) as excinfo:
        services.stock_move(changes=[StockChange(product.id, 1)], reason="order 1 cancelled", created_by_id=None)
    assert [p.code for p in excinfo.value.problems] == ["stock_limit_exceeded"]
    product.refresh_from_db()
    assert product.stock == STOCK_COLUMN_MAX == ledger_sum(product)
    assert StockMovement.objects.filter(product=product).count() == 2


def test_insufficient_stock_is_a_domain_error_so_the_api_renders_it():
    assert issubclass(InsufficientStock, DomainError)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(deltas=st.lists(st.integers(min_value=-15, max_value=15).filter(bool), min_size=1, max_size=25))
def test_random_adjustments_never_make_stock_negative_and_the_ledger_always_sums_to_stock(deltas):
    product = make_product(stock=0)
    expected = 0
    for delta in deltas:
        try:
            movement = services.stock_adjust(product=product, delta=delta, reason="random", created_by_id=None)
        except InsufficientStock:
            assert expected + delta < 0
            continue
        expected += delta
        assert movement.balance_after == expected
        assert product.stock == expected
    product.refresh_from_db()
    assert product.stock == expected >= 0
    assert ledger_sum(product) == product.stock
    balances = list(
        StockMovement.objects.filter(product=product).order_by("id").values_list("balance_after", flat=True)
    )
    running = 0
    for m in StockMovement.objects.filter(product=product).order_by("id"):
        running += m.delta
        assert m.balance_after == running
    assert all(b >= 0 for b in balances)


# --- What the database itself enforces ----------------------------------------


def test_the_database_refuses_a_negative_stock_even_from_a_raw_update():
    product = make_product(stock=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(id=product.id).update(stock=-1)
    product.refresh_from_db()
    assert product.stock == 1


def test_the_database_refuses_a_zero_or_negative_balance_movement():
    product = make_product(stock=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockMovement.objects.create(product=product, delta=0, reason="x", balance_after=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockMovement.objects.create(product=product, delta=-2, reason="x", balance_after=-1)


def test_the_ledger_is_append_only():
    product = make_product(stock=3)
    movement = StockMovement.objects.get(product=product)
    movement.reason = "rewritten"
    with pytest.raises(TypeError):
        movement.save()
    with pytest.raises(TypeError):
        movement.delete()
    with pytest.raises(TypeError):
        StockMovement.objects.filter(id=movement.id).update(delta=5)
    with pytest.raises(TypeError):
        StockMovement.objects.filter(id=movement.id).delete()
    fresh = StockMovement.objects.get(id=movement.id)
    assert (fresh.reason, fresh.delta) == ("initial stock", 3)


def test_deleting_a_user_keeps_their_movements_and_forgets_who_made_them():
    user = UserFactory.create(is_staff=True)
    product = make_product(stock=1)
    movement = services.stock_adjust(product=product, delta=2, reason="delivery", created_by_id=user.id)
    user.delete()
    movement = StockMovement.objects.get(id=movement.id)
    assert (movement.created_by_id, movement.delta, movement.balance_after) == (None, 2, 3)
