"""The operators' commands: seed_demo, reconcile_inventory, purge_idempotency_keys,
and the system checks that ``check --database`` and ``migrate`` run."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from inventory.models import Product, StockMovement
from orders.models import Coupon, IdempotencyKey, Order
from tests.factories import UserFactory, make_product
from users.models import User

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, ...]:
    return (
        User.objects.count(),
        Product.objects.count(),
        StockMovement.objects.count(),
        Coupon.objects.count(),
        Order.objects.count(),
    )


def test_seed_demo_loads_everything_once_and_prints_the_logins(capsys, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo")
    out = capsys.readouterr().out
    assert "admin@stockroom.local / stockroom-demo" in out
    assert "alice@example.com / stockroom-demo" in out
    first = counts()
    assert first[0] == 4 and first[1] == 12 and first[3] == 2 and first[4] == 8
    assert User.objects.get(email="admin@stockroom.local").is_staff
    assert set(Order.objects.values_list("status", flat=True)) == {
        "pending",
        "paid",
        "shipped",
        "delivered",
        "cancelled",
        "expired",
        "returned",
    }
    partly = Order.objects.get(status="delivered", refunded_total__gt=0)  # partly returned
    assert 0 < partly.refunded_total < partly.total
    call_command("seed_demo")
    assert counts() == first  # idempotent
    call_command("reconcile_inventory")  # the demo data balances


def test_reconcile_inventory_passes_when_every_product_balances(capsys):
    customer = UserFactory.create()
    product = make_product(stock=5)
    from orders.domain.placement import DraftLine, OrderDraft
    from orders.services import order_place

    order_place(customer=customer, draft=OrderDraft((DraftLine(product.id, 2),)))
    call_command("reconcile_inventory")
    out = capsys.readouterr().out
    assert "Checked 1 product(s) and 2 movement(s) (1 from orders)." in out
    assert "Every product's stock equals the sum of its ledger." in out


def test_reconcile_inventory_exits_1_and_reports_each_mismatch(capsys):
    good = make_product(sku="GOOD-1", stock=5)
    bad = make_product(sku="BAD-1", stock=5)
    Product.objects.filter(id=bad.id).update(stock=7)  # someone wrote around the ledger
    with pytest.raises(SystemExit) as exit_:
        call_command("reconcile_inventory")
    assert exit_.value.code == 1
    out = capsys.readouterr().out
    assert f"product {bad.id} (BAD-1): stock 7, ledger sum 5, difference +2" in out
    assert "GOOD-1" not in out
    assert good.id != bad.id


def test_purge_idempotency_keys_deletes_only_keys_older_than_24_hours(capsys):
    user = UserFactory.create()
    old = IdempotencyKey.objects.create(user=user, key="old", fingerprint="x")
    IdempotencyKey.objects.filter(id=old.id).update(created_at=timezone.now() - timedelta(hours=25))
    IdempotencyKey.objects.create(user=user, key="fresh", fingerprint="y")
    call_command("purge_idempotency_keys")
    assert "Purged 1 idempotency key(s)" in capsys.readouterr().out
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]


# --- System checks of the data -------------------------------------------------------


def price_products(*prices: str) -> list[Product]:
    """Products with these prices written straight to the database, as rows
    from before the price bound are."""
    products = [make_product(sku=f"LEGACY-{i}") for i, _ in enumerate(prices)]
    for product, price in zip(products, prices, strict=True):
        Product.objects.filter(id=product.id).update(price=Decimal(price))
    return products


def check_output(*args: str, **options: Any) -> str:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue() + err.getvalue()


def test_check_database_reports_products_priced_above_the_bound_and_changes_none():
    price_products("999999.99", "1000000.00", "9999999999.99")
    report = check_output("check", "--database", "default")
    assert "(inventory.W001) 2 product(s) in database 'default' priced above 999999.99" in report
    assert "LEGACY-1, LEGACY-2." in report and "LEGACY-0" not in report
    assert sorted(Product.objects.values_list("price", flat=True)) == [
        Decimal("999999.99"),
        Decimal("1000000.00"),
        Decimal("9999999999.99"),
    ]


def test_check_database_names_the_first_ten_and_counts_them_all():
    price_products(*["2000000.00"] * 12)
    report = check_output("check", "--database", "default")
    assert "12 product(s)" in report and "LEGACY-9, …" in report and "LEGACY-10" not in report


def test_check_database_is_quiet_when_every_price_is_within_the_bound():
    price_products("0.00", "999999.99")
    assert "inventory.W001" not in check_output("check", "--database", "default")


def test_check_without_the_database_does_not_read_it():
    price_products("1000000.00")
    assert "inventory.W001" not in check_output("check")


def test_migrate_reports_products_priced_above_the_bound():
    price_products("1000000.00")
    # call_command skips a command's checks unless told; manage.py migrate runs them.
    assert "inventory.W001" in check_output("migrate", "--noinput", skip_checks=False)
