"""The inventory admin: the same services as the API, a read-only ledger."""

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.db.models import Sum
from django.test import Client
from django.test.utils import CaptureQueriesContext

from inventory import services
from inventory.domain.ledger import MAX_STOCK, StockChange
from inventory.models import Product, StockMovement
from tests.factories import UserFactory, make_product
from tests.support.admin import change_form_data

pytestmark = pytest.mark.django_db

PRODUCTS = "/admin/inventory/product/"
MOVEMENTS = "/admin/inventory/stockmovement/"


@pytest.fixture
def admin_client(superuser: Any) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


def change_url(product: Product) -> str:
    return f"{PRODUCTS}{product.pk}/change/"


def adjust_url(product: Product) -> str:
    return f"{PRODUCTS}{product.pk}/adjust-stock/"


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def ledger_sum(product: Product) -> int:
    return StockMovement.objects.filter(product=product).aggregate(s=Sum("delta"))["s"] or 0


# --- Change list ---------------------------------------------------------------


def test_product_change_list_searches_by_sku(admin_client):
    make_product(sku="FIND-ME-1", name="Needle")
    make_product(sku="OTHER-1", name="Hay")
    response = admin_client.get(PRODUCTS, {"q": "find-me"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list.values_list("sku", flat=True)) == ["FIND-ME-1"]
    assert "Needle" in response.content.decode()


def test_product_change_list_filters_on_in_stock_and_is_active(admin_client):
    make_product(sku="FULL-1", stock=3)
    make_product(sku="EMPTY-1", stock=0)
    make_product(sku="GONE-1", stock=2, is_active=False)
    skus = lambda r: set(r.context["cl"].result_list.values_list("sku", flat=True))  # noqa: E731
    assert skus(admin_client.get(PRODUCTS, {"in_stock": "yes"})) == {"FULL-1", "GONE-1"}
    assert skus(admin_client.get(PRODUCTS, {"in_stock": "no"})) == {"EMPTY-1"}
    assert skus(admin_client.get(PRODUCTS, {"is_active__exact": "0"})) == {"GONE-1"}


def test_a_customer_is_sent_to_the_login_page(customer):
    client = Client()
    client.force_login(customer)
    product = make_product()
    for url in (PRODUCTS, change_url(product), adjust_url(product), MOVEMENTS):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    response = client.post(adjust_url(product), {"delta": 5, "reason": "sneaky"})
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    product.refresh_from_db()
    assert product.stock == 10


# --- Change page and the ledger inline ------------------------------------------------


def test_change_page_shows_the_ledger_read_only_with_an_adjust_stock_link(admin_client, superuser):
    product = make_product(stock=4)
    services.stock_adjust(product=product, delta=3, reason="delivery from Acme", created_by_id=superuser.id)
    services.stock_move(
        changes=[StockChange(product.id, -2)], reason="order 42 placed", created_by_id=None, order_id=42
    )
    response = admin_client.get(change_url(product))
    assert response.status_code == 200
    html = response.content.decode()
    assert "delivery from Acme" in html and "order 42 placed" in html and "initial stock" in html
    assert superuser.email in html
    assert f'href="{adjust_url(product)}"' in html
    (inline,) = response.context["inline_admin_formsets"]
    assert [f.instance.reason for f in inline.formset.forms] == [
        "order 42 placed",
        "delivery from Acme",
        "initial stock",
    ]
    assert not inline.has_add_permission and not inline.has_change_permission and not inline.has_delete_permission
    # Stock is shown, not editable.
    assert "stock" not in response.context["adminform"].form.fields


def test_change_page_shows_only_the_latest_50_movements(admin_client):
    product = make_product(stock=1)
    for i in range(60):
        services.stock_adjust(product=product, delta=1, reason=f"delivery {i}", created_by_id=None)
    response = admin_client.get(change_url(product))
    (inline,) = response.context["inline_admin_formsets"]
    reasons = [f.instance.reason for f in inline.formset.forms]
    assert len(reasons) == 50
    assert reasons[0] == "delivery 59"


def test_change_page_query_count_does_not_grow_with_the_ledger(admin_client, superuser):
    def queries(n: int) -> int:
        product = make_product(stock=1)
        for _ in range(n):
            services.stock_adjust(product=product, delta=1, reason="x", created_by_id=superuser.id)
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(change_url(product)).status_code == 200
        return len(ctx)

    assert queries(2) == queries(40)


def test_saving_the_change_page_updates_fields_through_the_service_and_never_stock(admin_client, superuser):
    product = make_product(sku="OLD-1", name="Old", price="2.00", stock=5)
    services.stock_adjust(product=product, delta=1, reason="x", created_by_id=superuser.id)
    data = change_form_data(admin_client.get(change_url(product)), inline_parent="product")
    data.update({"name": "New name", "price": "3.25", "stock": "999"})
    response = admin_client.post(change_url(product), data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    product.refresh_from_db()
    assert (product.name, str(product.price), product.stock) == ("New name", "3.25", 6)
    assert ledger_sum(product) == 6


def test_the_change_page_refuses_a_sku_taken_in_another_case(admin_client):
    make_product(sku="TAKEN-1")
    product = make_product(sku="MINE-1")
    data = change_form_data(admin_client.get(change_url(product)), inline_parent="product")
    data["sku"] = "taken-1"
    response = admin_client.post(change_url(product), data)
    assert response.status_code == 200
    assert "sku" in response.context["adminform"].form.errors
    product.refresh_from_db()
    assert product.sku == "MINE-1"


# --- Adjust stock ------------------------------------------------------------------


def test_adjust_stock_page_shows_the_current_stock(admin_client):
    product = make_product(stock=7)
    response = admin_client.get(adjust_url(product))
    assert response.status_code == 200
    assert '<strong id="current-stock">7</strong>' in response.content.decode()


def test_adjust_stock_moves_stock_and_writes_a_ledger_row_by_the_staff_user(admin_client, superuser):
    product = make_product(stock=5)
    response = admin_client.post(adjust_url(product), {"delta": -3, "reason": "damaged"})
    assert response.status_code == 302
    assert response["Location"] == change_url(product)
    product.refresh_from_db()
    assert product.stock == 2 == ledger_sum(product)
    latest = StockMovement.objects.filter(product=product).latest("id")
    assert (latest.delta, latest.reason, latest.balance_after, latest.created_by_id, latest.order_id) == (
        -3,
        "damaged",
        2,
        superuser.id,
        None,
    )
    assert any("adjusted by -3" in m for m in messages_of(response))


def test_adjust_stock_refuses_to_go_below_zero_shows_the_error_and_changes_nothing(admin_client):
    product = make_product(stock=2)
    response = admin_client.post(adjust_url(product), {"delta": -5, "reason": "stock-take"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "delta" in errors and "Only 2 unit(s)" in errors["delta"][0]
    assert "Only 2 unit(s)" in response.content.decode()
    product.refresh_from_db()
    assert product.stock == 2
    assert StockMovement.objects.filter(product=product).count() == 1


def test_adjust_stock_refuses_to_go_above_max_stock_shows_the_error_and_changes_nothing(admin_client):
    product = make_product(stock=MAX_STOCK - 1)
    response = admin_client.post(adjust_url(product), {"delta": 2, "reason": "delivery"})
    assert response.status_code == 200
    (message,) = response.context["form"].errors["delta"]
    assert str(MAX_STOCK) in message and message in response.content.decode()
    product.refresh_from_db()
    assert product.stock == MAX_STOCK - 1
    assert StockMovement.objects.filter(product=product).count() == 1
    assert admin_client.post(adjust_url(product), {"delta": 1, "reason": "delivery"}).status_code == 302
    product.refresh_from_db()
    assert product.stock == MAX_STOCK == ledger_sum(product)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"delta": 0, "reason": "x"}, "delta"),
        ({"delta": "", "reason": "x"}, "delta"),
        ({"delta": 1, "reason": ""}, "reason"),
    ],
)
def test_adjust_stock_validates_its_form(admin_client, data, field):
    product = make_product(stock=2)
    response = admin_client.post(adjust_url(product), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert StockMovement.objects.filter(product=product).count() == 1


def test_adjust_stock_of_an_unknown_product_redirects_to_the_admin_home(admin_client):
    response = admin_client.get(f"{PRODUCTS}999999/adjust-stock/")
    assert response.status_code == 302


# --- Add and delete ----------------------------------------------------------------


def test_adding_a_product_records_its_initial_stock_in_the_ledger(admin_client, superuser):
    response = admin_client.post(
        f"{PRODUCTS}add/",
        {"sku": "NEW-1", "name": "New", "description": "", "price": "4.50", "stock": "8", "is_active": "on"},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    product = Product.objects.get(sku="NEW-1")
    assert response["Location"] == PRODUCTS
    assert product.stock == 8
    (movement,) = StockMovement.objects.filter(product=product)
    assert (movement.delta, movement.balance_after, movement.reason, movement.created_by_id) == (
        8,
        8,
        "initial stock",
        superuser.id,
    )


def test_adding_a_product_with_a_taken_sku_or_negative_stock_is_refused(admin_client):
    make_product(sku="TAKEN-1")
    base = {"sku": "NEW-1", "name": "New", "description": "", "price": "1.00", "stock": "0", "is_active": "on"}
    for bad, field in [({"sku": "taken-1"}, "sku"), ({"stock": "-1"}, "stock"), ({"price": "1.999"}, "price")]:
        response = admin_client.post(f"{PRODUCTS}add/", {**base, **bad})
        assert response.status_code == 200
        assert field in response.context["adminform"].form.errors
    assert Product.objects.count() == 1


def test_adding_a_product_takes_a_price_up_to_the_bound_and_no_more(admin_client):
    base = {"sku": "NEW-1", "name": "New", "description": "", "stock": "0", "is_active": "on"}
    for price in ("1000000.00", "9999999999.99"):
        response = admin_client.post(f"{PRODUCTS}add/", {**base, "price": price})
        assert response.status_code == 200
        assert "999999.99" in response.context["adminform"].form.errors["price"][0]
    assert not Product.objects.exists()
    response = admin_client.post(f"{PRODUCTS}add/", {**base, "price": "999999.99"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Product.objects.get(sku="NEW-1").price == Decimal("999999.99")


def test_a_product_priced_above_the_bound_keeps_its_price_unless_staff_lower_it(admin_client):
    product = make_product(name="Old")
    Product.objects.filter(id=product.id).update(price=Decimal("9999999999.99"))  # from before the bound
    data = change_form_data(admin_client.get(change_url(product)), inline_parent="product")
    # Saving another field keeps the price as it is.
    response = admin_client.post(change_url(product), {**data, "name": "Renamed"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    product.refresh_from_db()
    assert (product.name, product.price) == ("Renamed", Decimal("9999999999.99"))
    # Another price above the bound is refused; one within it is taken.
    response = admin_client.post(change_url(product), {**data, "price": "5000000.00"})
    assert response.status_code == 200
    assert "price" in response.context["adminform"].form.errors
    response = admin_client.post(change_url(product), {**data, "price": "999999.99"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    product.refresh_from_db()
    assert product.price == Decimal("999999.99")


def test_deleting_a_never_ordered_product_deletes_it_with_its_ledger(admin_client):
    product = make_product(stock=3)
    response = admin_client.get(f"{PRODUCTS}{product.pk}/delete/")
    assert response.status_code == 200
    assert not response.context["perms_lacking"] and not response.context["protected"]
    assert "deactivates-instead" not in response.content.decode()
    response = admin_client.post(f"{PRODUCTS}{product.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Product.objects.filter(pk=product.pk).exists()
    assert not StockMovement.objects.filter(product_id=product.pk).exists()


def test_deleting_an_ordered_product_deactivates_it_instead(admin_client):
    product = make_product(stock=3)
    services.stock_move(changes=[StockChange(product.id, -1)], reason="order 5 placed", created_by_id=None, order_id=5)
    response = admin_client.get(f"{PRODUCTS}{product.pk}/delete/")
    assert response.status_code == 200
    assert "deactivates-instead" in response.content.decode()
    response = admin_client.post(f"{PRODUCTS}{product.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert any("deactivated instead" in m for m in messages_of(response))
    product.refresh_from_db()
    assert product.is_active is False
    assert StockMovement.objects.filter(product=product).count() == 2


def test_the_delete_action_deletes_or_deactivates_each_product(admin_client):
    plain = make_product(stock=1)
    ordered = make_product(stock=1)
    services.stock_move(changes=[StockChange(ordered.id, -1)], reason="order 6 placed", created_by_id=None, order_id=6)
    response = admin_client.post(
        PRODUCTS, {"action": "delete_selected", "_selected_action": [plain.pk, ordered.pk], "post": "yes"}
    )
    assert response.status_code == 302
    assert not Product.objects.filter(pk=plain.pk).exists()
    ordered.refresh_from_db()
    assert ordered.is_active is False
    assert any("deactivated instead" in m for m in messages_of(response))


# --- The movement list -------------------------------------------------------------


def test_movement_list_is_read_only_and_searchable_by_product_sku(admin_client, superuser):
    a = make_product(sku="AAA-1", stock=2)
    make_product(sku="BBB-1", stock=3)
    response = admin_client.get(MOVEMENTS, {"q": "aaa"})
    assert response.status_code == 200
    assert [m.product_id for m in response.context["cl"].result_list] == [a.id]
    assert admin_client.get(f"{MOVEMENTS}add/").status_code == 403
    movement = StockMovement.objects.get(product=a)
    response = admin_client.post(f"{MOVEMENTS}{movement.pk}/change/", {"delta": 50, "reason": "x"})
    assert response.status_code == 403
    assert admin_client.post(f"{MOVEMENTS}{movement.pk}/delete/", {"post": "yes"}).status_code == 403
    movement.refresh_from_db()
    assert movement.delta == 2


def test_movement_list_filters_to_one_product_from_the_change_page_link(admin_client):
    a = make_product(stock=2)
    make_product(stock=3)
    response = admin_client.get(MOVEMENTS, {"product__id__exact": a.pk})
    assert response.status_code == 200
    assert [m.product_id for m in response.context["cl"].result_list] == [a.id]


# --- Query budgets -----------------------------------------------------------------


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx)


@pytest.mark.parametrize("url", [PRODUCTS, MOVEMENTS])
def test_change_lists_run_the_same_number_of_queries_for_5_or_60_products(url):
    # A fresh superuser per measurement; created_by makes the movement list join users.
    staff = UserFactory.create(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)

    def products(n: int) -> None:
        for _ in range(n):
            product = make_product(stock=2)
            services.stock_adjust(product=product, delta=1, reason="x", created_by_id=staff.id)

    products(5)
    few = count_queries(client, url)
    products(55)
    many = count_queries(client, url)
    assert few == many
