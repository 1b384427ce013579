"""The Inventory section of API.md, row by row, through HTTP."""

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from inventory import services
from inventory.domain.bounds import MAX_PRICE
from inventory.domain.ledger import MAX_STOCK, STOCK_COLUMN_MAX, StockChange
from inventory.models import Product, StockMovement
from tests.factories import make_product

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"
PRODUCT_FIELDS = {
    "id",
    "sku",
    "name",
    "description",
    "price",
    "currency",
    "stock",
    "low_stock_threshold",
    "is_active",
    "created_at",
    "updated_at",
}
MOVEMENT_FIELDS = {"id", "delta", "reason", "order_id", "balance_after", "created_at", "created_by"}


def detail(pid: int) -> str:
    return f"{PRODUCTS}{pid}/"


def ok(response: Any, status: int = 200) -> Any:
    """The body of a successful response, which never mentions a password."""
    assert response.status_code == status, response.content
    assert b"password" not in response.content.lower()
    return response.json() if response.content else None


def error(response: Any, status: int) -> list[tuple[str, str | None]]:
    """Asserts the one error envelope; returns its (code, attr) pairs."""
    assert response.status_code == status, response.content
    assert b"password" not in response.content.lower()
    body = response.json()
    assert set(body) == {"type", "errors"}
    expected_type = "validation_error" if status == 400 else "server_error" if status >= 500 else "client_error"
    assert body["type"] == expected_type
    assert body["errors"]
    for e in body["errors"]:
        assert set(e) == {"code", "detail", "attr"}
        assert e["code"] and e["detail"]
    return [(e["code"], e["attr"]) for e in body["errors"]]


def attrs(response: Any, status: int = 400) -> set[str | None]:
    return {attr for _, attr in error(response, status)}


def ids(body: dict[str, Any]) -> list[int]:
    return [p["id"] for p in body["results"]]


# --- List ----------------------------------------------------------------------


def test_list_shows_anonymous_users_and_customers_only_active_products(anon, customer_api):
    active = make_product()
    make_product(is_active=False)
    for client in (anon, customer_api):
        body = ok(client.get(PRODUCTS))
        assert ids(body) == [active.id]
        assert body["count"] == 1


def test_list_shows_staff_inactive_products_too_and_lets_them_filter_on_is_active(staff_api):
    active = make_product()
    inactive = make_product(is_active=False)
    assert set(ids(ok(staff_api.get(PRODUCTS)))) == {active.id, inactive.id}
    assert ids(ok(staff_api.get(PRODUCTS, {"is_active": "false"}))) == [inactive.id]
    assert ids(ok(staff_api.get(PRODUCTS, {"is_active": "true"}))) == [active.id]


def test_list_is_active_filter_never_shows_customers_an_inactive_product(customer_api):
    make_product(is_active=False)
    assert ok(customer_api.get(PRODUCTS, {"is_active": "false"}))["results"] == []


def test_list_renders_the_product_contract_with_money_as_a_two_place_string(anon):
    make_product(sku="MUG-1", name="Mug", price="19.99", stock=4, description="A mug")
    make_product(sku="CUP-1", name="Cup", price="5", stock=0)
    body = ok(anon.get(PRODUCTS, {"ordering": "price"}))
    cup, mug = body["results"]
    assert set(mug) == PRODUCT_FIELDS
    assert (mug["sku"], mug["name"], mug["description"], mug["stock"], mug["is_active"]) == (
        "MUG-1",
        "Mug",
        "A mug",
        4,
        True,
    )
    assert (mug["price"], cup["price"]) == ("19.99", "5.00")
    assert mug["currency"] == cup["currency"] == "USD"
    assert mug["created_at"].endswith("Z") and mug["updated_at"].endswith("Z")  # ISO 8601 in UTC


def test_list_search_matches_part_of_the_name_or_the_sku_in_any_case(anon):
    mug = make_product(sku="MUG-RED", name="Red mug")
    cup = make_product(sku="CUP-9", name="Tea cup")
    make_product(sku="PLATE-1", name="Plate")
    assert ids(ok(anon.get(PRODUCTS, {"search": "mug"}))) == [mug.id]
    assert ids(ok(anon.get(PRODUCTS, {"search": "cup-9"}))) == [cup.id]
    assert set(ids(ok(anon.get(PRODUCTS, {"search": "U"})))) == {mug.id, cup.id}
    assert ok(anon.get(PRODUCTS, {"search": "nothing-like-it"}))["count"] == 0


def test_list_in_stock_true_lists_only_products_with_stock(anon):
    with_stock = make_product(stock=1)
    without = make_product(stock=0)
    assert ids(ok(anon.get(PRODUCTS, {"in_stock": "true"}))) == [with_stock.id]
    assert ids(ok(anon.get(PRODUCTS, {"in_stock": "false"}))) == [without.id]


def test_list_filters_on_a_price_range_with_inclusive_bounds(anon):
    cheap = make_product(price="1.00")
    mid = make_product(price="10.00")
    dear = make_product(price="100.00")
    assert set(ids(ok(anon.get(PRODUCTS, {"min_price": "10"})))) == {mid.id, dear.id}
    assert set(ids(ok(anon.get(PRODUCTS, {"max_price": "10.00"})))) == {cheap.id, mid.id}
    assert ids(ok(anon.get(PRODUCTS, {"min_price": "5", "max_price": "50"}))) == [mid.id]


@pytest.mark.parametrize(
    ("ordering", "key"),
    [
        ("price", lambda p: (p.price, p.id)),
        ("-price", lambda p: (-p.price, -p.id)),
        ("name", lambda p: (p.name, p.id)),
        ("-created_at", lambda p: (-p.created_at.timestamp(), -p.id)),
    ],
)
def test_list_orders_by_each_ordering_the_contract_names(anon, ordering, key):
    for name, price in [("Bravo", "3.00"), ("Alpha", "9.50"), ("Delta", "1.25"), ("Charlie", "3.00")]:
        make_product(name=name, price=price)
    expected = [p.id for p in sorted(Product.objects.all(), key=key)]
    assert ids(ok(anon.get(PRODUCTS, {"ordering": ordering}))) == expected


def test_list_is_newest_first_by_default(anon):
    first, second, third = make_product(), make_product(), make_product()
    assert ids(ok(anon.get(PRODUCTS))) == [third.id, second.id, first.id]


@pytest.mark.parametrize(
    ("params", "attr"),
    [
        ({"ordering": "stock"}, "ordering"),
        ({"ordering": "bogus"}, "ordering"),
        ({"min_price": "abc"}, "min_price"),
        ({"max_price": "1e"}, "max_price"),
        ({"in_stock": "maybe"}, "in_stock"),
        ({"in_stock": "yes"}, "in_stock"),
        ({"is_active": "maybe"}, "is_active"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "101"}, "page_size"),
        ({"page_size": "abc"}, "page_size"),
        ({"page_size": "-1"}, "page_size"),
        ({"page": "abc"}, "page"),
        ({"page": "0"}, "page"),
    ],
)
def test_list_refuses_bad_query_parameters_with_a_400_on_that_parameter(anon, params, attr):
    make_product()
    assert attrs(anon.get(PRODUCTS, params)) == {attr}


def test_list_is_paginated_by_page_number(anon):
    for _ in range(5):
        make_product()
    body = ok(anon.get(PRODUCTS, {"page_size": 2}))
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 5 and len(body["results"]) == 2 and body["previous"] is None
    assert body["next"].startswith("http://testserver/api/v1/products/?") and "page=2" in body["next"]
    page2 = ok(anon.get(body["next"]))
    assert page2["previous"] and len(page2["results"]) == 2
    last = ok(anon.get(page2["next"]))
    assert last["next"] is None and len(last["results"]) == 1
    assert len(set(ids(body) + ids(page2) + ids(last))) == 5


def test_list_page_past_the_end_is_404(anon):
    make_product()
    assert error(anon.get(PRODUCTS, {"page": 2}), 404) == [("not_found", None)]


@pytest.mark.parametrize("size", [1, 100])
def test_list_accepts_page_size_from_1_to_100(anon, size):
    for _ in range(3):
        make_product()
    assert len(ok(anon.get(PRODUCTS, {"page_size": size}))["results"]) == min(size, 3)


def test_list_default_page_holds_20(anon):
    for _ in range(21):
        make_product()
    body = ok(anon.get(PRODUCTS))
    assert (body["count"], len(body["results"])) == (21, 20)


# --- Detail --------------------------------------------------------------------


def test_detail_shows_an_active_product_to_anyone(anon, customer_api):
    product = make_product(price="2.50")
    for client in (anon, customer_api):
        body = ok(client.get(detail(product.id)))
        assert set(body) == PRODUCT_FIELDS
        assert (body["id"], body["price"], body["currency"]) == (product.id, "2.50", "USD")


def test_detail_of_an_inactive_product_is_404_for_non_staff_and_200_for_staff(anon, customer_api, staff_api):
    product = make_product(is_active=False)
    assert error(anon.get(detail(product.id)), 404) == [("not_found", None)]
    assert error(customer_api.get(detail(product.id)), 404) == [("not_found", None)]
    assert ok(staff_api.get(detail(product.id)))["is_active"] is False


@pytest.mark.parametrize("pid", ["999999", "99999999999999999999999"])
def test_detail_of_an_unknown_product_is_404(anon, pid):
    error(anon.get(f"{PRODUCTS}{pid}/"), 404)


def test_detail_ignores_the_lists_filters(anon):
    product = make_product(stock=0)
    assert ok(anon.get(detail(product.id), {"in_stock": "true", "ordering": "bogus"}))["id"] == product.id


# --- Create --------------------------------------------------------------------


def test_create_by_staff_returns_201_and_records_the_initial_stock_in_the_ledger(staff_api, staff):
    r = staff_api.post(PRODUCTS, {"sku": "TEA-1", "name": "Tea", "description": "Green", "price": "4.20", "stock": 12})
    body = ok(r, 201)
    assert set(body) == PRODUCT_FIELDS
    assert (body["sku"], body["name"], body["description"], body["price"], body["currency"], body["stock"]) == (
        "TEA-1",
        "Tea",
        "Green",
        "4.20",
        "USD",
        12,
    )
    assert body["is_active"] is True
    (movement,) = ok(staff_api.get(f"{detail(body['id'])}stock-movements/"))["results"]
    assert (movement["delta"], movement["balance_after"], movement["order_id"], movement["created_by"]) == (
        12,
        12,
        None,
        staff.id,
    )


def test_create_with_only_the_required_fields_starts_with_no_stock_and_no_ledger(staff_api):
    body = ok(staff_api.post(PRODUCTS, {"sku": "X-1", "name": "X", "price": "1"}), 201)
    assert (body["stock"], body["description"], body["price"]) == (0, "", "1.00")
    assert not StockMovement.objects.filter(product_id=body["id"]).exists()


@pytest.mark.parametrize("clash", ["TEA-1", "tea-1", "Tea-1"])
def test_create_refuses_a_sku_taken_in_any_case(staff_api, clash):
    make_product(sku="TEA-1")
    assert error(staff_api.post(PRODUCTS, {"sku": clash, "name": "T", "price": "1.00"}), 400) == [("unique", "sku")]
    assert Product.objects.count() == 1


@pytest.mark.parametrize(
    "price", ["1.999", "-1", "abc", "", None, "100000000000.00", "1000000.00", "1000000", "9999999999.99", "NaN"]
)
def test_create_refuses_a_bad_price(staff_api, price):
    assert attrs(staff_api.post(PRODUCTS, {"sku": "A-1", "name": "A", "price": price})) == {"price"}
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    ("payload", "attr"),
    [
        ({"name": "A", "price": "1.00"}, "sku"),
        ({"sku": "A-1", "price": "1.00"}, "name"),
        ({"sku": "A-1", "name": "A"}, "price"),
        ({"sku": "has space", "name": "A", "price": "1.00"}, "sku"),
        ({"sku": "A-1", "name": "A", "price": "1.00", "stock": -1}, "stock"),
        ({"sku": "A-1", "name": "A", "price": "1.00", "stock": "many"}, "stock"),
        ({"sku": "A-1", "name": "A", "price": "1.00", "colour": "red"}, "colour"),
        ({"sku": "A-1", "name": "A", "price": "1.00", "currency": "EUR"}, "currency"),
        ({"sku": "A-1", "name": "A", "price": "1.00", "id": 5}, "id"),
    ],
)
def test_create_refuses_bad_input_with_a_400_on_that_attr(staff_api, payload, attr):
    assert attrs(staff_api.post(PRODUCTS, payload)) == {attr}
    assert not Product.objects.exists()


def test_create_reports_every_bad_field_at_once(staff_api):
    assert attrs(staff_api.post(PRODUCTS, {"sku": "", "price": "x", "colour": "red"})) == {
        "sku",
        "name",
        "price",
        "colour",
    }


def test_create_is_403_for_a_customer_and_401_for_anonymous(customer_api, anon):
    payload = {"sku": "A-1", "name": "A", "price": "1.00"}
    assert error(customer_api.post(PRODUCTS, payload), 403) == [("permission_denied", None)]
    assert error(anon.post(PRODUCTS, payload), 401) == [("not_authenticated", None)]
    assert not Product.objects.exists()


def test_create_refuses_a_body_that_is_not_json(staff_api):
    r = staff_api.post(PRODUCTS, "sku=A-1", content_type="application/x-www-form-urlencoded")
    error(r, 415)


# --- Update --------------------------------------------------------------------


def test_patch_changes_price_and_name_and_leaves_stock_alone(staff_api):
    product = make_product(price="1.00", stock=5)
    body = ok(staff_api.patch(detail(product.id), {"price": "2.35", "name": "Renamed"}))
    assert (body["price"], body["name"], body["stock"]) == ("2.35", "Renamed", 5)
    product.refresh_from_db()
    assert (product.price, product.name, product.stock) == (Decimal("2.35"), "Renamed", 5)


def test_patch_and_put_refuse_stock_because_it_is_read_only_here(staff_api):
    product = make_product(stock=5, name="Kept")
    assert attrs(staff_api.patch(detail(product.id), {"stock": 50})) == {"stock"}
    put = {"sku": product.sku, "name": "Changed", "price": "1.00", "stock": 50}
    assert attrs(staff_api.put(detail(product.id), put)) == {"stock"}
    product.refresh_from_db()
    assert (product.stock, product.name) == (5, "Kept")


def test_put_replaces_the_editable_fields(staff_api):
    product = make_product(sku="OLD-1", price="1.00", stock=3)
    body = ok(
        staff_api.put(
            detail(product.id),
            {"sku": "NEW-1", "name": "New", "description": "d", "price": "7.10", "is_active": False},
        )
    )
    assert (body["sku"], body["name"], body["description"], body["price"], body["is_active"], body["stock"]) == (
        "NEW-1",
        "New",
        "d",
        "7.10",
        False,
        3,
    )


def test_put_needs_sku_name_and_price(staff_api):
    product = make_product()
    assert attrs(staff_api.put(detail(product.id), {"description": "only this"})) == {"sku", "name", "price"}


@pytest.mark.parametrize("method", ["patch", "put"])
def test_update_refuses_another_products_sku_in_any_case(staff_api, method):
    make_product(sku="TAKEN-1")
    product = make_product(sku="MINE-1")
    payload = {"sku": "taken-1", "name": "N", "price": "1.00"}
    assert error(getattr(staff_api, method)(detail(product.id), payload), 400) == [("unique", "sku")]
    product.refresh_from_db()
    assert product.sku == "MINE-1"


def test_patch_may_change_a_skus_case(staff_api):
    product = make_product(sku="MINE-1")
    assert ok(staff_api.patch(detail(product.id), {"sku": "mine-1"}))["sku"] == "mine-1"


@pytest.mark.parametrize("price", ["1.999", "-1", "abc", "1000000.00", "9999999999.99", "Infinity"])
def test_patch_refuses_a_bad_price(staff_api, price):
    product = make_product(price="3.00")
    assert attrs(staff_api.patch(detail(product.id), {"price": price})) == {"price"}


def test_patch_can_deactivate_and_reactivate_a_product(staff_api, anon):
    product = make_product()
    assert ok(staff_api.patch(detail(product.id), {"is_active": False}))["is_active"] is False
    error(anon.get(detail(product.id)), 404)
    assert ok(staff_api.patch(detail(product.id), {"is_active": True}))["is_active"] is True
    ok(anon.get(detail(product.id)))


def test_update_is_403_for_a_customer_and_401_for_anonymous(customer_api, anon):
    product = make_product(name="Kept")
    error(customer_api.patch(detail(product.id), {"name": "X"}), 403)
    error(anon.patch(detail(product.id), {"name": "X"}), 401)
    error(customer_api.put(detail(product.id), {"sku": "A", "name": "X", "price": "1"}), 403)
    product.refresh_from_db()
    assert product.name == "Kept"


def test_update_of_an_unknown_product_is_404(staff_api):
    error(staff_api.patch(detail(999999), {"name": "X"}), 404)


# --- Delete --------------------------------------------------------------------


def test_delete_removes_a_never_ordered_product_with_its_ledger(staff_api):
    product = make_product(stock=5)
    services.stock_adjust(product=product, delta=-1, reason="broken", created_by_id=None)
    assert ok(staff_api.delete(detail(product.id)), 204) is None
    error(staff_api.get(detail(product.id)), 404)
    assert not Product.objects.filter(id=product.id).exists()
    assert not StockMovement.objects.filter(product_id=product.id).exists()


def test_delete_deactivates_a_product_an_order_references_and_keeps_its_ledger(staff_api, anon):
    product = make_product(stock=5)
    services.stock_move(
        changes=[StockChange(product.id, -2)], reason="order 123 placed", created_by_id=None, order_id=123
    )
    ok(staff_api.delete(detail(product.id)), 204)
    body = ok(staff_api.get(detail(product.id)))
    assert (body["is_active"], body["stock"]) == (False, 3)
    error(anon.get(detail(product.id)), 404)
    assert StockMovement.objects.filter(product_id=product.id).count() == 2
    assert product.id in ids(ok(staff_api.get(PRODUCTS, {"is_active": "false"})))


def test_delete_is_403_for_a_customer_and_401_for_anonymous(customer_api, anon):
    product = make_product()
    error(customer_api.delete(detail(product.id)), 403)
    error(anon.delete(detail(product.id)), 401)
    assert Product.objects.filter(id=product.id, is_active=True).exists()


def test_delete_of_an_unknown_product_is_404(staff_api):
    error(staff_api.delete(detail(999999)), 404)


# --- Stock adjustments ------------------------------------------------------------


def adjust(client: APIClient, pid: int, payload: Any) -> Any:
    return client.post(f"{detail(pid)}stock-adjustments/", payload)


def test_stock_adjustment_returns_201_with_the_product_and_its_movement(staff_api, staff):
    product = make_product(stock=5, price="1.50")
    body = ok(adjust(staff_api, product.id, {"delta": -2, "reason": "damaged in transit"}), 201)
    assert set(body) == {"product", "movement"}
    assert set(body["product"]) == PRODUCT_FIELDS
    assert (body["product"]["id"], body["product"]["stock"], body["product"]["price"]) == (product.id, 3, "1.50")
    movement = body["movement"]
    assert set(movement) == MOVEMENT_FIELDS
    assert (movement["delta"], movement["reason"], movement["balance_after"], movement["order_id"]) == (
        -2,
        "damaged in transit",
        3,
        None,
    )
    assert movement["created_by"] == staff.id
    product.refresh_from_db()
    assert product.stock == 3


def test_stock_adjustment_can_add_stock(staff_api):
    product = make_product(stock=0)
    body = ok(adjust(staff_api, product.id, {"delta": 40, "reason": "delivery"}), 201)
    assert body["product"]["stock"] == body["movement"]["balance_after"] == 40


def test_stock_adjustment_below_zero_is_409_insufficient_stock_and_changes_nothing(staff_api):
    product = make_product(stock=3)
    assert error(adjust(staff_api, product.id, {"delta": -4, "reason": "stock-take"}), 409) == [
        ("insufficient_stock", "delta")
    ]
    product.refresh_from_db()
    assert product.stock == 3
    assert StockMovement.objects.filter(product=product).count() == 1


@pytest.mark.parametrize(
    ("payload", "attr"),
    [
        ({"delta": 0, "reason": "nothing"}, "delta"),
        ({"delta": "abc", "reason": "x"}, "delta"),
        ({"delta": 1.5, "reason": "x"}, "delta"),
        ({"delta": 10_000_000, "reason": "x"}, "delta"),
        ({"reason": "x"}, "delta"),
        ({"delta": 1}, "reason"),
        ({"delta": 1, "reason": ""}, "reason"),
        ({"delta": 1, "reason": "x", "order_id": 5}, "order_id"),
    ],
)
def test_stock_adjustment_refuses_bad_input_with_a_400_on_that_attr(staff_api, payload, attr):
    product = make_product(stock=3)
    assert attrs(adjust(staff_api, product.id, payload)) == {attr}
    product.refresh_from_db()
    assert product.stock == 3


def test_stock_adjustment_of_zero_says_the_delta_must_be_non_zero(staff_api):
    product = make_product(stock=3)
    assert error(adjust(staff_api, product.id, {"delta": 0, "reason": "x"}), 400) == [("zero", "delta")]


def test_stock_adjustment_works_on_an_inactive_product(staff_api):
    product = make_product(stock=1, is_active=False)
    assert ok(adjust(staff_api, product.id, {"delta": 2, "reason": "found"}), 201)["product"]["stock"] == 3


def test_stock_adjustment_is_403_for_a_customer_and_401_for_anonymous(customer_api, anon):
    product = make_product(stock=3)
    error(adjust(customer_api, product.id, {"delta": 1, "reason": "x"}), 403)
    error(adjust(anon, product.id, {"delta": 1, "reason": "x"}), 401)
    product.refresh_from_db()
    assert product.stock == 3


def test_stock_adjustment_of_an_unknown_product_is_404(staff_api):
    error(adjust(staff_api, 999999, {"delta": 1, "reason": "x"}), 404)


def test_stock_adjustment_refuses_get_with_405(staff_api):
    product = make_product()
    error(staff_api.get(f"{detail(product.id)}stock-adjustments/"), 405)


# --- Stock movements ----------------------------------------------------------------


def test_stock_movements_list_the_ledger_newest_first(staff_api, staff):
    product = make_product(stock=5)  # initial stock: created_by None
    services.stock_move(
        changes=[StockChange(product.id, -2)], reason="order 77 placed", created_by_id=None, order_id=77
    )
    ok(adjust(staff_api, product.id, {"delta": 10, "reason": "delivery"}), 201)
    body = ok(staff_api.get(f"{detail(product.id)}stock-movements/"))
    assert set(body) == {"count", "next", "previous", "results"}
    rows = body["results"]
    assert all(set(row) == MOVEMENT_FIELDS for row in rows)
    assert [(r["delta"], r["balance_after"], r["order_id"], r["created_by"]) for r in rows] == [
        (10, 13, None, staff.id),
        (-2, 3, 77, None),
        (5, 5, None, None),
    ]
    assert [r["reason"] for r in rows] == ["delivery", "order 77 placed", "initial stock"]
    assert sum(r["delta"] for r in rows) == ok(staff_api.get(detail(product.id)))["stock"]


def test_stock_movements_show_only_that_products_ledger(staff_api):
    product = make_product(stock=1)
    make_product(stock=2)
    assert [r["delta"] for r in ok(staff_api.get(f"{detail(product.id)}stock-movements/"))["results"]] == [1]


def test_stock_movements_are_paginated(staff_api):
    product = make_product(stock=1)
    for _ in range(4):
        services.stock_adjust(product=product, delta=1, reason="x", created_by_id=None)
    body = ok(staff_api.get(f"{detail(product.id)}stock-movements/", {"page_size": 2}))
    assert (body["count"], len(body["results"])) == (5, 2)
    assert body["next"]
    assert attrs(staff_api.get(f"{detail(product.id)}stock-movements/", {"page_size": 101})) == {"page_size"}


def test_stock_movements_of_an_inactive_product_are_visible_to_staff(staff_api):
    product = make_product(stock=1, is_active=False)
    assert ok(staff_api.get(f"{detail(product.id)}stock-movements/"))["count"] == 1


def test_stock_movements_are_403_for_a_customer_and_401_for_anonymous(customer_api, anon):
    product = make_product(stock=1)
    assert error(customer_api.get(f"{detail(product.id)}stock-movements/"), 403) == [("permission_denied", None)]
    error(anon.get(f"{detail(product.id)}stock-movements/"), 401)


# --- Numbers that cannot overflow ---------------------------------------------------------

LEGACY_PRICE = "9999999999.99"  # the most the price column holds


def legacy_product(**fields: Any) -> Product:
    """A product priced above the bound, as one from before the bound is:
    its price written straight to the database."""
    product = make_product(**fields)
    Product.objects.filter(id=product.id).update(price=Decimal(LEGACY_PRICE))
    product.refresh_from_db()
    return product


def test_create_and_patch_accept_a_price_of_exactly_the_bound(staff_api):
    assert str(MAX_PRICE) == "999999.99"
    body = ok(staff_api.post(PRODUCTS, {"sku": "A-1", "name": "A", "price": "999999.99"}), 201)
    assert body["price"] == "999999.99"
    assert ok(staff_api.patch(detail(body["id"]), {"price": "999999.98"}))["price"] == "999999.98"


def test_the_schema_shows_the_price_bound(anon):
    schema = anon.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    for name in ("ProductCreateInputRequest", "PatchedProductUpdateInputRequest", "ProductUpdateInputRequest"):
        price = schema[name]["properties"]["price"]
        assert price["pattern"] == r"^(?:\d{1,6}(?:\.\d{0,2})?|\.\d{1,2})$", name  # at most 999999.99
        assert "999999.99" in price["description"], name


def test_a_product_priced_above_the_bound_keeps_its_price_when_other_fields_change(staff_api, anon):
    product = legacy_product()
    assert ok(staff_api.patch(detail(product.id), {"name": "Renamed"}))["price"] == LEGACY_PRICE
    assert ok(anon.get(detail(product.id)))["price"] == LEGACY_PRICE
    assert ids(ok(anon.get(PRODUCTS, {"min_price": LEGACY_PRICE}))) == [product.id]


@pytest.mark.parametrize("param", ["min_price", "max_price"])
@pytest.mark.parametrize(
    "value",
    [
        "1e1001",
        "-1e1001",
        "NaN",
        "nan",
        "sNaN",
        "Infinity",
        "-Infinity",
        "inf",
        "1e-1001",
        "1" * 60,
        "0." + "1" * 60,
        "1e20",
        "10000000000.00",
        "0.001",
    ],
)
def test_list_refuses_an_absurd_price_filter_with_one_400_on_that_parameter(anon, param, value):
    make_product()
    assert [attr for _, attr in error(anon.get(PRODUCTS, {param: value}), 400)] == [param]


@pytest.mark.parametrize("value", ["0", "-0", "-9999999999.99", "9999999999.99", "1E+2", "0.5"])
def test_list_accepts_a_price_filter_within_the_columns_digits(anon, value):
    make_product(price="100.00")
    ok(anon.get(PRODUCTS, {"min_price": value, "max_price": "9999999999.99"}))


def test_stock_adjustment_up_to_max_stock_is_accepted_and_above_it_is_400_stock_limit_exceeded(staff_api):
    product = make_product(stock=MAX_STOCK - 10)
    assert error(adjust(staff_api, product.id, {"delta": 11, "reason": "delivery"}), 400) == [
        ("stock_limit_exceeded", "delta")
    ]
    product.refresh_from_db()
    assert product.stock == MAX_STOCK - 10
    assert StockMovement.objects.filter(product=product).count() == 1
    body = ok(adjust(staff_api, product.id, {"delta": 10, "reason": "delivery"}), 201)
    assert body["product"]["stock"] == body["movement"]["balance_after"] == MAX_STOCK


def test_stock_adjustment_that_would_overflow_the_stock_column_is_400_and_changes_nothing(staff_api):
    # Stock near the column's maximum, as units given back by cancelled orders
    # (which MAX_STOCK does not bound) could leave it.
    product = make_product(stock=MAX_STOCK)
    services.stock_move(
        changes=[StockChange(product.id, STOCK_COLUMN_MAX - MAX_STOCK - 5)], reason="x", created_by_id=None
    )
    assert error(adjust(staff_api, product.id, {"delta": 1_000_000, "reason": "delivery"}), 400) == [
        ("stock_limit_exceeded", "delta")
    ]
    product.refresh_from_db()
    assert product.stock == STOCK_COLUMN_MAX - 5
    assert StockMovement.objects.filter(product=product).count() == 2
    # Stock above MAX_STOCK may always come down.
    body = ok(adjust(staff_api, product.id, {"delta": -1_000_000, "reason": "stock-take"}), 201)
    assert body["product"]["stock"] == body["movement"]["balance_after"] == STOCK_COLUMN_MAX - 1_000_005


# --- The ledger invariant, through the API --------------------------------------------


def test_after_any_sequence_of_api_writes_the_ledger_sums_to_stock(staff_api):
    body = ok(staff_api.post(PRODUCTS, {"sku": "INV-1", "name": "I", "price": "1.00", "stock": 3}), 201)
    pid = body["id"]
    for delta in (5, -8, -1, 2, 4, -7):
        adjust(staff_api, pid, {"delta": delta, "reason": "mixed"})
    stock = ok(staff_api.get(detail(pid)))["stock"]
    movements = ok(staff_api.get(f"{detail(pid)}stock-movements/", {"page_size": 100}))["results"]
    assert stock >= 0
    assert sum(m["delta"] for m in movements) == stock
    assert movements[0]["balance_after"] == stock
