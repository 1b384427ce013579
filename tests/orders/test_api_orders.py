"""HTTP contract of /api/v1/orders/: every row of the orders table in API.md."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory import services as inventory_services
from inventory.domain.ledger import MAX_STOCK, STOCK_COLUMN_MAX, StockChange
from inventory.models import Product, StockMovement
from orders.idempotency import idempotency_purge
from orders.models import Coupon, IdempotencyKey, Order
from tests.factories import UserFactory, make_product
from tests.orders.helpers import (
    ORDERS,
    error_attrs,
    errors,
    ledger_count,
    ledger_sum,
    lines,
    order_url,
    place,
    stock,
)

pytestmark = pytest.mark.django_db

ORDER_KEYS = {
    "id", "status", "customer", "lines", "subtotal", "discount", "total", "refunded_total", "currency", "coupon",
    "expires_at", "created_at", "updated_at",
}  # fmt: skip
LINE_KEYS = {"product_id", "sku", "name", "quantity", "unit_price", "line_total", "returned_quantity"}


def make_coupon(code: str = "SAVE10", **fields) -> Coupon:
    if "percent_off" not in fields and "amount_off" not in fields:
        fields["percent_off"] = Decimal("10")
    return Coupon.objects.create(code=code, **fields)


def times_used(coupon: Coupon) -> int:
    return Coupon.objects.values_list("times_used", flat=True).get(id=coupon.id)


def order_movements(order_id: int) -> list[tuple[int, int, int | None]]:
    return sorted(StockMovement.objects.filter(order_id=order_id).values_list("product_id", "delta", "created_by_id"))


def set_created_at(order_id: int, when: datetime) -> None:
    Order.objects.filter(id=order_id).update(created_at=when)


# --- POST /orders/ ------------------------------------------------------------------


def test_order_place_answers_201_pending_with_the_contract_shape(customer_api, customer):
    a = make_product(sku="A-1", name="Anvil", price="19.99", stock=10)
    b = make_product(sku="B-1", name="Bolt", price="0.05", stock=100)

    r = place(customer_api, (a, 3), (b, 7))

    assert r.status_code == 201, r.content
    body = r.json()
    assert set(body) == ORDER_KEYS
    assert body["status"] == "pending"
    assert body["customer"] == {"id": customer.id, "email": customer.email, "username": customer.username}
    assert body["lines"] == [
        {"product_id": a.id, "sku": "A-1", "name": "Anvil", "quantity": 3, "unit_price": "19.99", "line_total": "59.97",
         "returned_quantity": 0},
        {"product_id": b.id, "sku": "B-1", "name": "Bolt", "quantity": 7, "unit_price": "0.05", "line_total": "0.35",
         "returned_quantity": 0},
    ]  # fmt: skip
    assert (body["subtotal"], body["discount"], body["total"]) == ("60.32", "0.00", "60.32")
    assert body["currency"] == "USD"
    assert body["coupon"] is None
    for stamp in (body["created_at"], body["updated_at"]):
        assert datetime.fromisoformat(stamp).utcoffset() == timedelta(0)


def test_order_place_takes_stock_through_the_ledger_with_the_order_and_customer(customer_api, customer):
    a = make_product(stock=10)
    b = make_product(stock=4)

    r = place(customer_api, (a, 3), (b, 4))

    assert r.status_code == 201, r.content
    order_id = r.json()["id"]
    assert (stock(a), stock(b)) == (7, 0)
    assert order_movements(order_id) == sorted([(a.id, -3, customer.id), (b.id, -4, customer.id)])
    assert StockMovement.objects.get(order_id=order_id, product_id=b.id).balance_after == 0
    assert (ledger_sum(a), ledger_sum(b)) == (7, 0)


def test_order_lines_keep_the_sku_name_and_price_of_the_moment(customer_api, staff_api):
    a = make_product(sku="OLD-SKU", name="Old name", price="5.00", stock=5)
    order_id = place(customer_api, (a, 2)).json()["id"]

    inventory_services.product_update(product=a, price=Decimal("99.99"), name="New name", sku="NEW-SKU")

    for api in (customer_api, staff_api):
        body = api.get(order_url(order_id)).json()
        assert body["lines"] == [
            {"product_id": a.id, "sku": "OLD-SKU", "name": "Old name", "quantity": 2, "unit_price": "5.00", "line_total": "10.00",
             "returned_quantity": 0}
        ]  # fmt: skip
        assert body["total"] == "10.00"


def test_order_place_merges_repeated_product_ids(customer_api):
    a = make_product(price="2.00", stock=10)
    b = make_product(price="3.00", stock=10)

    r = place(customer_api, (a, 2), (b, 1), (a, 3))

    assert r.status_code == 201, r.content
    assert [(line["product_id"], line["quantity"], line["line_total"]) for line in r.json()["lines"]] == [
        (a.id, 5, "10.00"),
        (b.id, 1, "3.00"),
    ]
    assert (stock(a), stock(b)) == (5, 9)
    assert ledger_count(a) == 2  # the initial stock and one movement for the merged line


def test_order_place_takes_nothing_when_one_line_is_short(customer_api):
    a = make_product(stock=5)
    b = make_product(stock=1)
    c = make_product(stock=10)
    before = [(stock(p), ledger_count(p)) for p in (a, b, c)]

    r = place(customer_api, (a, 6), (c, 1), (b, 2))

    assert r.status_code == 409, r.content
    assert r.json()["type"] == "client_error"
    assert errors(r) == [("insufficient_stock", "lines.0.quantity"), ("insufficient_stock", "lines.2.quantity")]
    assert [(stock(p), ledger_count(p)) for p in (a, b, c)] == before
    assert Order.objects.count() == 0


def test_order_place_reports_a_merged_shortage_on_the_first_occurrence(customer_api):
    a = make_product(stock=5)
    c = make_product(stock=10)

    r = place(customer_api, (c, 1), (a, 3), (a, 3))

    assert r.status_code == 409, r.content
    assert errors(r) == [("insufficient_stock", "lines.1.quantity")]
    assert (stock(a), stock(c)) == (5, 10)
    assert Order.objects.count() == 0


def test_order_place_can_take_the_last_unit(customer_api):
    a = make_product(stock=2)
    assert place(customer_api, (a, 2)).status_code == 201
    assert stock(a) == 0 and ledger_sum(a) == 0


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda p, off: {"lines": []}, ("min_length", "lines")),
        (lambda p, off: {"lines": [{"product_id": p.id, "quantity": 1}] * 101}, ("max_length", "lines")),
        (lambda p, off: {"lines": [{"product_id": p.id, "quantity": 0}]}, ("min_value", "lines.0.quantity")),
        (
            lambda p, off: {"lines": [{"product_id": p.id, "quantity": 1}, {"product_id": p.id, "quantity": 1001}]},
            ("max_value", "lines.1.quantity"),
        ),
        (lambda p, off: {"lines": [{"product_id": p.id, "quantity": 600}] * 2}, ("out_of_range", "lines.0.quantity")),
        (lambda p, off: {"lines": [{"product_id": 987654, "quantity": 1}]}, ("does_not_exist", "lines.0.product_id")),
        (
            lambda p, off: {"lines": [{"product_id": p.id, "quantity": 1}, {"product_id": off.id, "quantity": 1}]},
            ("inactive", "lines.1.product_id"),
        ),
        (
            lambda p, off: {"lines": [{"product_id": p.id, "quantity": 1, "price": "0.01"}]},
            ("unknown_field", "lines.0.price"),
        ),
        (lambda p, off: {"lines": [{"product_id": p.id, "quantity": 1}], "status": "paid"}, ("unknown_field", "status")),
        (lambda p, off: {"lines": [{"product_id": p.id}]}, ("required", "lines.0.quantity")),
        (lambda p, off: {}, ("required", "lines")),
        (lambda p, off: {"lines": [{"product_id": p.id, "quantity": "two"}]}, ("invalid", "lines.0.quantity")),
    ],
    ids=[
        "empty", "101-lines", "quantity-0", "quantity-1001", "merged-over-1000", "unknown-product", "inactive-product",
        "unknown-line-field", "unknown-field", "missing-quantity", "missing-lines", "non-integer-quantity",
    ],
)  # fmt: skip
def test_order_place_refuses_bad_input_with_400_on_the_attr(customer_api, build, expected):
    p = make_product(stock=2000)
    off = make_product(stock=5, is_active=False)

    r = customer_api.post(ORDERS, build(p, off), format="json")

    assert r.status_code == 400, r.content
    assert r.json()["type"] == "validation_error"
    assert errors(r) == [expected]
    assert (stock(p), stock(off)) == (2000, 5)
    assert Order.objects.count() == 0


def test_order_place_reports_every_bad_line_at_once(customer_api):
    p = make_product(stock=10)
    off = make_product(stock=10, is_active=False)

    r = customer_api.post(
        ORDERS,
        {"lines": [*lines((off, 1), (p, 1)), {"product_id": 987654, "quantity": 1}]},
        format="json",
    )

    assert r.status_code == 400, r.content
    assert errors(r) == [("inactive", "lines.0.product_id"), ("does_not_exist", "lines.2.product_id")]


def test_order_place_accepts_100_lines_and_quantity_1000(customer_api):
    products = [make_product(price="0.01", stock=1000) for _ in range(100)]
    body = {"lines": [{"product_id": p.id, "quantity": 1000 if i == 0 else 1} for i, p in enumerate(products)]}

    r = customer_api.post(ORDERS, body, format="json")

    assert r.status_code == 201, r.content
    assert len(r.json()["lines"]) == 100
    assert r.json()["total"] == "10.99"


@pytest.mark.parametrize(
    ("coupon_fields", "code"),
    [
        (None, "coupon_not_found"),
        ({"valid_until": "past"}, "coupon_expired"),
        ({"valid_from": "future"}, "coupon_not_yet_valid"),
        ({"max_uses": 2, "times_used": 2}, "coupon_used_up"),
        ({"is_active": False}, "coupon_inactive"),
    ],
)
def test_order_place_refuses_an_unusable_coupon_with_400_on_coupon(customer_api, coupon_fields, code):
    p = make_product(stock=5)
    coupon = None
    if coupon_fields is not None:
        fields = dict(coupon_fields)
        if fields.get("valid_until") == "past":
            fields["valid_until"] = timezone.now() - timedelta(minutes=1)
        if fields.get("valid_from") == "future":
            fields["valid_from"] = timezone.now() + timedelta(hours=1)
        coupon = make_coupon("WINDOW", **fields)

    r = place(customer_api, (p, 1), coupon="WINDOW")

    assert r.status_code == 400, r.content
    assert errors(r) == [(code, "coupon")]
    assert stock(p) == 5
    assert Order.objects.count() == 0
    if coupon is not None:
        assert times_used(coupon) == coupon.times_used


def test_order_place_refuses_a_malformed_coupon_code_with_400_on_coupon(customer_api):
    p = make_product(stock=5)
    r = place(customer_api, (p, 1), coupon="no spaces!")
    assert r.status_code == 400, r.content
    assert error_attrs(r) == ["coupon"]


@pytest.mark.parametrize(
    ("fields", "discount", "total"),
    [
        ({"percent_off": Decimal("10")}, "3.00", "27.00"),
        ({"amount_off": Decimal("5.50")}, "5.50", "24.50"),
        ({"amount_off": Decimal("100.00")}, "30.00", "0.00"),
    ],
)
def test_order_place_with_a_coupon_discounts_and_uses_it_once(customer_api, fields, discount, total):
    p = make_product(price="10.00", stock=5)
    coupon = make_coupon(
        "Spring-Sale",
        valid_from=timezone.now() - timedelta(days=1),
        valid_until=timezone.now() + timedelta(days=1),
        **fields,
    )

    r = place(customer_api, (p, 3), coupon="SPRING-sale")  # codes match in any case

    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["subtotal"], body["discount"], body["total"]) == ("30.00", discount, total)
    assert body["coupon"] == "Spring-Sale"
    assert times_used(coupon) == 1


def test_order_place_takes_the_last_use_of_a_coupon_then_refuses(customer_api):
    p = make_product(stock=5)
    coupon = make_coupon("ONCE", max_uses=1)
    assert place(customer_api, (p, 1), coupon="ONCE").status_code == 201
    r = place(customer_api, (p, 1), coupon="ONCE")
    assert r.status_code == 400
    assert errors(r) == [("coupon_used_up", "coupon")]
    assert times_used(coupon) == 1


def test_order_place_needs_a_signed_in_user(anon):
    p = make_product(stock=5)
    r = place(anon, (p, 1))
    assert r.status_code == 401
    assert errors(r) == [("not_authenticated", None)]
    assert stock(p) == 5


# --- GET /orders/ ---------------------------------------------------------------------


def test_order_list_shows_only_own_orders_newest_first(customer_api, other_api):
    p = make_product(stock=50)
    mine = [place(customer_api, (p, 1)).json()["id"] for _ in range(3)]
    place(other_api, (p, 1))

    r = customer_api.get(ORDERS)

    assert r.status_code == 200, r.content
    body = r.json()
    assert set(body) == {"next", "previous", "results"}  # cursor pagination: no count
    assert [o["id"] for o in body["results"]] == mine[::-1]
    assert set(body["results"][0]) == ORDER_KEYS


def test_order_list_newest_first_follows_created_at_not_id(customer_api):
    p = make_product(stock=50)
    first, second = (place(customer_api, (p, 1)).json()["id"] for _ in range(2))
    set_created_at(first, timezone.now() + timedelta(hours=1))

    assert [o["id"] for o in customer_api.get(ORDERS).json()["results"]] == [first, second]


def test_order_list_for_staff_shows_everyone_and_filters_by_customer(
    customer_api, other_api, staff_api, other_customer
):
    p = make_product(stock=50)
    mine = [place(customer_api, (p, 1)).json()["id"] for _ in range(2)]
    theirs = place(other_api, (p, 1)).json()["id"]

    assert [o["id"] for o in staff_api.get(ORDERS).json()["results"]] == [theirs, *mine[::-1]]
    r = staff_api.get(ORDERS, {"customer": other_customer.id})
    assert [o["id"] for o in r.json()["results"]] == [theirs]


def test_order_list_customer_filter_never_reveals_another_customers_orders(customer_api, other_api, other_customer):
    p = make_product(stock=50)
    place(other_api, (p, 1))
    place(customer_api, (p, 1))

    r = customer_api.get(ORDERS, {"customer": other_customer.id})

    assert r.status_code == 200
    assert r.json()["results"] == []


def test_order_list_filters_by_status(customer_api):
    p = make_product(stock=50)
    kept, cancelled = (place(customer_api, (p, 1)).json()["id"] for _ in range(2))
    assert customer_api.post(order_url(cancelled, "cancel")).status_code == 200

    assert [o["id"] for o in customer_api.get(ORDERS, {"status": "cancelled"}).json()["results"]] == [cancelled]
    assert [o["id"] for o in customer_api.get(ORDERS, {"status": "pending"}).json()["results"]] == [kept]
    r = customer_api.get(ORDERS, {"status": "lost"})
    assert r.status_code == 400
    assert errors(r) == [("invalid_choice", "status")]


def test_order_list_filters_by_created_window(customer_api):
    p = make_product(stock=50)
    ids = [place(customer_api, (p, 1)).json()["id"] for _ in range(3)]
    for day, order_id in zip((1, 2, 3), ids, strict=True):
        set_created_at(order_id, datetime(2026, 3, day, 12, 0, tzinfo=UTC))

    def listed(**params: str) -> list[int]:
        r = customer_api.get(ORDERS, params)
        assert r.status_code == 200, r.content
        return [o["id"] for o in r.json()["results"]]

    assert listed(created_after="2026-03-02T00:00:00Z") == [ids[2], ids[1]]
    assert listed(created_before="2026-03-02T00:00:00Z") == [ids[0]]
    assert listed(created_after="2026-03-01T12:00:00Z", created_before="2026-03-03T12:00:00Z") == [ids[1], ids[0]]
    assert listed(created_after="2026-03-02T13:00:00+02:00") == [ids[2], ids[1]]  # 11:00 UTC


@pytest.mark.parametrize("param", ["created_after", "created_before"])
def test_order_list_refuses_a_bad_datetime_with_400(customer_api, param):
    r = customer_api.get(ORDERS, {param: "yesterday"})
    assert r.status_code == 400
    assert errors(r) == [("invalid", param)]


def test_order_list_cursor_pagination_follows_next_to_the_end(customer_api) -> None:
    p = make_product(stock=50)
    ids = [place(customer_api, (p, 1)).json()["id"] for _ in range(5)]

    seen: list[int] = []
    pages = 0
    url: str | None = f"{ORDERS}?page_size=2"
    while url:
        r = customer_api.get(url)
        assert r.status_code == 200, r.content
        body = r.json()
        assert set(body) == {"next", "previous", "results"}
        assert len(body["results"]) <= 2
        assert (body["previous"] is None) == (pages == 0)
        seen += [o["id"] for o in body["results"]]
        url = body["next"]
        pages += 1

    assert pages == 3
    assert seen == ids[::-1]


def test_order_list_refuses_a_page_size_over_100(customer_api):
    r = customer_api.get(ORDERS, {"page_size": 101})
    assert r.status_code == 400
    assert error_attrs(r) == ["page_size"]


def test_order_list_needs_a_signed_in_user(anon):
    assert anon.get(ORDERS).status_code == 401


# --- GET /orders/{id}/ ------------------------------------------------------------------


def test_order_detail_for_owner_and_staff(customer_api, staff_api):
    p = make_product(stock=5)
    created = place(customer_api, (p, 2)).json()

    for api in (customer_api, staff_api):
        r = api.get(order_url(created["id"]))
        assert r.status_code == 200, r.content
        assert r.json() == created


def test_order_detail_of_another_customer_is_404_exactly_like_a_missing_id(customer_api, other_api):
    p = make_product(stock=5)
    order_id = place(customer_api, (p, 1)).json()["id"]

    theirs = other_api.get(order_url(order_id))
    missing = other_api.get(order_url(order_id + 1000))

    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    assert errors(theirs) == [("not_found", None)]


def test_order_detail_needs_a_signed_in_user(customer_api, anon):
    order_id = place(customer_api, (make_product(stock=5), 1)).json()["id"]
    assert anon.get(order_url(order_id)).status_code == 401


# --- POST /orders/{id}/cancel/ ------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "staff"])
def test_order_cancel_returns_stock_and_coupon_use(customer_api, staff_api, customer, staff, who):
    a = make_product(stock=10)
    b = make_product(stock=3)
    coupon = make_coupon("TENOFF")
    order_id = place(customer_api, (a, 4), (b, 3), coupon="tenoff").json()["id"]
    assert (stock(a), stock(b), times_used(coupon)) == (6, 0, 1)
    api, actor = (customer_api, customer) if who == "owner" else (staff_api, staff)

    r = api.post(order_url(order_id, "cancel"))

    assert r.status_code == 200, r.content
    assert r.json()["status"] == "cancelled"
    assert r.json()["coupon"] == "TENOFF"
    assert (stock(a), stock(b), times_used(coupon)) == (10, 3, 0)
    assert (ledger_sum(a), ledger_sum(b)) == (10, 3)
    assert order_movements(order_id) == sorted(
        [(a.id, -4, customer.id), (b.id, -3, customer.id), (a.id, 4, actor.id), (b.id, 3, actor.id)]
    )
    assert customer_api.get(order_url(order_id)).json()["status"] == "cancelled"


def test_order_cancel_twice_is_409_invalid_transition_and_gives_back_nothing_more(customer_api):
    a = make_product(stock=10)
    coupon = make_coupon("TWICE")
    place(customer_api, (a, 1), coupon="TWICE")  # another order keeps one use
    order_id = place(customer_api, (a, 4), coupon="TWICE").json()["id"]
    assert customer_api.post(order_url(order_id, "cancel")).status_code == 200

    r = customer_api.post(order_url(order_id, "cancel"))

    assert r.status_code == 409
    assert r.json()["type"] == "client_error"
    assert errors(r) == [("invalid_transition", None)]  # cancel takes no input: no attr
    assert stock(a) == 9
    assert times_used(coupon) == 1


@pytest.mark.parametrize("path", [["paid", "shipped"], ["paid", "shipped", "delivered"]])
def test_order_cancel_after_shipping_is_409_invalid_transition(customer_api, staff_api, path):
    a = make_product(stock=10)
    order_id = place(customer_api, (a, 4)).json()["id"]
    for target in path:
        assert staff_api.post(order_url(order_id, "transition"), {"status": target}).status_code == 200

    for api in (customer_api, staff_api):
        r = api.post(order_url(order_id, "cancel"))
        assert r.status_code == 409
        assert errors(r) == [("invalid_transition", None)]
    assert stock(a) == 6
    assert customer_api.get(order_url(order_id)).json()["status"] == path[-1]


def test_order_cancel_of_a_paid_order_works(customer_api, staff_api):
    a = make_product(stock=10)
    order_id = place(customer_api, (a, 4)).json()["id"]
    staff_api.post(order_url(order_id, "transition"), {"status": "paid"})

    assert customer_api.post(order_url(order_id, "cancel")).json()["status"] == "cancelled"
    assert stock(a) == 10


def test_order_cancel_by_another_customer_is_404_and_changes_nothing(customer_api, other_api, anon):
    a = make_product(stock=10)
    order_id = place(customer_api, (a, 4)).json()["id"]

    r = other_api.post(order_url(order_id, "cancel"))

    assert r.status_code == 404
    assert r.json() == other_api.post(order_url(order_id + 1000, "cancel")).json()
    assert anon.post(order_url(order_id, "cancel")).status_code == 401
    assert stock(a) == 6
    assert customer_api.get(order_url(order_id)).json()["status"] == "pending"


# --- POST /orders/{id}/transition/ ---------------------------------------------------------


def test_order_transition_is_staff_only_even_for_the_owner(customer_api, anon):
    order_id = place(customer_api, (make_product(stock=5), 1)).json()["id"]

    r = customer_api.post(order_url(order_id, "transition"), {"status": "paid"})

    assert r.status_code == 403
    assert errors(r) == [("permission_denied", None)]
    assert anon.post(order_url(order_id, "transition"), {"status": "paid"}).status_code == 401
    assert customer_api.get(order_url(order_id)).json()["status"] == "pending"


def test_order_transition_walks_pending_paid_shipped_delivered(customer_api, staff_api):
    a = make_product(stock=5)
    order_id = place(customer_api, (a, 2)).json()["id"]

    for target in ("paid", "shipped", "delivered"):
        r = staff_api.post(order_url(order_id, "transition"), {"status": target})
        assert r.status_code == 200, r.content
        assert r.json()["status"] == target
        assert customer_api.get(order_url(order_id)).json()["status"] == target
    assert stock(a) == 3  # only cancelling gives stock back


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ([], "shipped"),
        ([], "delivered"),
        ([], "pending"),
        (["paid"], "paid"),
        (["paid"], "delivered"),
        (["paid", "shipped"], "paid"),
        (["paid", "shipped", "delivered"], "cancelled"),
        (["cancelled"], "pending"),
        (["cancelled"], "paid"),
    ],
)
def test_order_transition_refuses_a_move_the_machine_forbids_with_409(customer_api, staff_api, path, target):
    a = make_product(stock=5)
    order_id = place(customer_api, (a, 2)).json()["id"]
    for step in path:
        assert staff_api.post(order_url(order_id, "transition"), {"status": step}).status_code == 200
    stock_before = stock(a)

    r = staff_api.post(order_url(order_id, "transition"), {"status": target})

    assert r.status_code == 409
    assert r.json()["type"] == "client_error"
    assert errors(r) == [("invalid_transition", "status")]
    assert staff_api.get(order_url(order_id)).json()["status"] == (path[-1] if path else "pending")
    assert stock(a) == stock_before


@pytest.mark.parametrize("path", [[], ["paid"]])
def test_order_transition_to_cancelled_returns_stock_and_coupon_like_cancel(
    customer_api, staff_api, customer, staff, path
):
    a = make_product(stock=10)
    coupon = make_coupon("BACK")
    order_id = place(customer_api, (a, 4), coupon="BACK").json()["id"]
    for step in path:
        staff_api.post(order_url(order_id, "transition"), {"status": step})

    r = staff_api.post(order_url(order_id, "transition"), {"status": "cancelled"})

    assert r.status_code == 200, r.content
    assert r.json()["status"] == "cancelled"
    assert stock(a) == 10 and ledger_sum(a) == 10
    assert times_used(coupon) == 0
    assert order_movements(order_id) == sorted([(a.id, -4, customer.id), (a.id, 4, staff.id)])


@pytest.mark.parametrize(("body", "code"), [({"status": "lost"}, "invalid_choice"), ({}, "required")])
def test_order_transition_refuses_a_bad_status_with_400_on_status(customer_api, staff_api, body, code):
    order_id = place(customer_api, (make_product(stock=5), 1)).json()["id"]
    r = staff_api.post(order_url(order_id, "transition"), body, format="json")
    assert r.status_code == 400
    assert errors(r) == [(code, "status")]


def test_order_transition_of_a_missing_order_is_404(staff_api):
    assert staff_api.post(order_url(424242, "transition"), {"status": "paid"}).status_code == 404


# --- Idempotency-Key ----------------------------------------------------------------------


def test_order_place_with_the_same_key_and_body_replays_and_creates_nothing(customer_api):
    a = make_product(stock=10)

    first = place(customer_api, (a, 3), key="k-1")
    again = place(customer_api, (a, 3), key="k-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert Order.objects.count() == 1
    assert stock(a) == 7
    assert ledger_count(a) == 2


def test_order_place_replay_ignores_key_order_in_the_body(customer_api):
    a = make_product(stock=10)
    first = customer_api.post(ORDERS, {"lines": lines((a, 1))}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    again = customer_api.post(
        ORDERS, {"lines": [{"quantity": 1, "product_id": a.id}]}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert again.json() == first.json()
    assert Order.objects.count() == 1


def test_order_place_replays_the_first_response_even_after_the_order_changed(customer_api):
    a = make_product(stock=10)
    first = place(customer_api, (a, 1), key="k-2")
    customer_api.post(order_url(first.json()["id"], "cancel"))

    again = place(customer_api, (a, 1), key="k-2")

    assert again.status_code == 201
    assert again.json() == first.json()
    assert Order.objects.count() == 1


def test_order_place_with_the_same_key_and_another_body_is_409_reused(customer_api):
    a = make_product(stock=10)
    place(customer_api, (a, 1), key="k-3")

    r = place(customer_api, (a, 2), key="k-3")

    assert r.status_code == 409
    assert errors(r) == [("idempotency_key_reused", None)]
    assert Order.objects.count() == 1
    assert stock(a) == 9


def test_order_place_keys_belong_to_their_user(customer_api, other_api):
    a = make_product(stock=10)
    mine = place(customer_api, (a, 1), key="shared")
    theirs = place(other_api, (a, 1), key="shared")

    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert theirs.json()["customer"]["id"] != mine.json()["customer"]["id"]
    assert stock(a) == 8


def test_order_place_key_of_a_failed_request_is_free_again(customer_api):
    a = make_product(stock=1)

    short = place(customer_api, (a, 3), key="retry-me")
    assert short.status_code == 409
    assert errors(short) == [("insufficient_stock", "lines.0.quantity")]
    inventory_services.stock_adjust(product=a, delta=5, reason="delivery", created_by_id=None)

    r = place(customer_api, (a, 3), key="retry-me")

    assert r.status_code == 201, r.content
    assert stock(a) == 3
    assert Order.objects.count() == 1


def test_order_place_key_of_a_refused_coupon_is_free_again(customer_api):
    a = make_product(stock=5)
    assert place(customer_api, (a, 1), coupon="LATER", key="c").status_code == 400
    make_coupon("LATER")
    assert place(customer_api, (a, 1), coupon="LATER", key="c").status_code == 201


def test_order_place_refuses_an_overlong_key(customer_api):
    a = make_product(stock=5)
    r = place(customer_api, (a, 1), key="x" * 256)
    assert r.status_code == 400
    assert error_attrs(r) == ["Idempotency-Key"]
    assert Order.objects.count() == 0


def test_idempotency_purge_removes_keys_older_than_24_hours_then_the_key_makes_a_new_order(customer_api):
    a = make_product(stock=10)
    first = place(customer_api, (a, 1), key="old").json()
    young = place(customer_api, (a, 1), key="young").json()
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    IdempotencyKey.objects.filter(key="young").update(created_at=timezone.now() - timedelta(hours=23))

    assert idempotency_purge() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["young"]
    assert place(customer_api, (a, 1), key="young").json() == young  # within 24 hours: still a replay

    r = place(customer_api, (a, 1), key="old")
    assert r.status_code == 201
    assert r.json()["id"] != first["id"]
    assert Order.objects.count() == 3
    assert stock(a) == 7


def test_order_place_key_older_than_24_hours_is_not_replayed_even_before_purge(customer_api):
    a = make_product(stock=10)
    first = place(customer_api, (a, 1), key="stale").json()
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))

    r = place(customer_api, (a, 2), key="stale")  # another body: no 409 either, the old key is gone

    assert r.status_code == 201, r.content
    assert r.json()["id"] != first["id"]
    assert IdempotencyKey.objects.count() == 1


# --- Emails ------------------------------------------------------------------------------


def test_order_place_sends_one_confirmation_email_after_commit(
    customer_api, customer, mailoutbox, django_capture_on_commit_callbacks
):
    a = make_product(sku="ANV-1", name="Anvil", price="19.99", stock=10)
    b = make_product(sku="BLT-2", name="Bolt", price="0.35", stock=10)
    make_coupon("TEN", percent_off=Decimal("10"))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        r = place(customer_api, (a, 2), (b, 3), coupon="TEN")
    assert r.status_code == 201, r.content
    assert mailoutbox == []  # nothing is sent inside the request
    for callback in callbacks:  # the commit: now it goes out, once
        callback()
    assert len(mailoutbox) == 1
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        r = place(customer_api, (a, 2), (b, 3), coupon="TEN")
    order = r.json()

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [customer.email]
    assert str(order["id"]) in mail.subject
    assert (order["subtotal"], order["discount"], order["total"]) == ("41.03", "4.10", "36.93")
    body_lines = mail.body.splitlines()
    for line in order["lines"]:
        (text,) = [t for t in body_lines if line["sku"] in t]
        for part in (line["name"], str(line["quantity"]), line["unit_price"], line["line_total"]):
            assert part in text, (part, text)
    for label, amount in (("Subtotal", "41.03"), ("Discount", "4.10"), ("Total", "36.93")):
        assert any(t.startswith(label) and amount in t for t in body_lines), (label, mail.body)


def test_order_cancel_sends_one_cancellation_notice(customer_api, mailoutbox, django_capture_on_commit_callbacks):
    order_id = place(customer_api, (make_product(stock=5), 1)).json()["id"]
    assert mailoutbox == []

    with django_capture_on_commit_callbacks(execute=True):
        assert customer_api.post(order_url(order_id, "cancel")).status_code == 200
        # A refused second cancel sends nothing.
        assert customer_api.post(order_url(order_id, "cancel")).status_code == 409

    assert len(mailoutbox) == 1
    assert str(order_id) in mailoutbox[0].subject
    assert "cancel" in mailoutbox[0].subject.lower()


def test_order_place_refused_sends_no_email(customer_api, mailoutbox, django_capture_on_commit_callbacks):
    a = make_product(stock=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert place(customer_api, (a, 2)).status_code == 409
    assert mailoutbox == []


def test_order_transitions_other_than_cancel_send_no_email(
    customer_api, staff_api, mailoutbox, django_capture_on_commit_callbacks
):
    order_id = place(customer_api, (make_product(stock=5), 1)).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        for target in ("paid", "shipped"):
            assert staff_api.post(order_url(order_id, "transition"), {"status": target}).status_code == 200
    assert mailoutbox == []


def test_each_customer_gets_their_own_confirmation(mailoutbox, django_capture_on_commit_callbacks, client_for):
    a = make_product(stock=5)
    users = [UserFactory.create(), UserFactory.create()]
    with django_capture_on_commit_callbacks(execute=True):
        for user in users:
            assert place(client_for(user), (a, 1)).status_code == 201
    assert [m.to for m in mailoutbox] == [[u.email] for u in users]


# --- Odd input anywhere --------------------------------------------------------------------


@pytest.mark.parametrize("query", ["?status=paid", "?created_after=not-a-date", "?customer=12345"])
def test_order_detail_and_actions_ignore_list_filters(customer_api, staff_api, query):
    order_id = place(customer_api, (make_product(stock=5), 1)).json()["id"]

    r = customer_api.get(order_url(order_id) + query)
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "pending"
    r = staff_api.post(order_url(order_id, "transition") + query, {"status": "paid"})
    assert r.status_code == 200, r.content
    assert customer_api.post(order_url(order_id, "cancel") + query).json()["status"] == "cancelled"


def test_order_ids_beyond_the_database_range_are_404(customer_api, staff_api):
    huge = "9" * 25
    assert customer_api.get(order_url(huge)).status_code == 404
    assert staff_api.post(order_url(huge, "cancel")).status_code == 404


@pytest.mark.parametrize(
    "value", ["9" * 25, "1.5", "abc", "0", "1e1001", "NaN", "Infinity", "-Infinity", "1e-1001", "1" * 60]
)
def test_order_list_refuses_a_customer_that_is_not_an_id_with_400(staff_api, customer_api, customer, value):
    place(customer_api, (make_product(stock=5), 1))
    r = staff_api.get(ORDERS, {"customer": value})
    assert r.status_code == 400, r.content
    assert [attr for _, attr in errors(r)] == ["customer"]


def test_order_place_refuses_a_product_id_beyond_the_database_range(customer_api):
    r = customer_api.post(ORDERS, {"lines": [{"product_id": 2**63, "quantity": 1}]}, format="json")
    assert r.status_code == 400
    assert errors(r) == [("max_value", "lines.0.product_id")]


def test_order_place_refuses_a_body_that_is_not_json(customer_api):
    r = customer_api.post(ORDERS, "lines=1", content_type="text/plain")
    assert r.status_code == 415
    assert [code for code, _ in errors(r)] == ["unsupported_media_type"]
    r = customer_api.post(ORDERS, "{not json", content_type="application/json")
    assert r.status_code == 400
    assert [code for code, _ in errors(r)] == ["parse_error"]


# --- Numbers that cannot overflow ------------------------------------------------------------

LEGACY_PRICE = "9999999999.99"  # the most the price column holds


def legacy_product(**fields) -> Product:
    """A product priced above the bound, as one from before the bound is:
    its price written straight to the database."""
    product = make_product(**fields)
    Product.objects.filter(id=product.id).update(price=Decimal(LEGACY_PRICE))
    return product


def test_order_place_refuses_a_line_total_that_would_not_fit_with_400_and_takes_nothing(customer_api, staff_api):
    kept = place(customer_api, (make_product(stock=5), 1)).json()
    dear = legacy_product(stock=5000)

    r = place(customer_api, (make_product(stock=5), 1), (dear, 1000))

    assert r.status_code == 400, r.content
    assert errors(r) == [("out_of_range", "lines.1.quantity")]
    assert "999999999999.99" in r.json()["errors"][0]["detail"]
    assert (stock(dear), ledger_count(dear), Order.objects.count()) == (5000, 1, 1)
    # Every order stays readable, by its owner and by staff.
    for api in (customer_api, staff_api):
        assert [o["id"] for o in api.get(ORDERS).json()["results"]] == [kept["id"]]
        assert api.get(order_url(kept["id"])).json() == kept


def test_order_place_refuses_a_subtotal_that_would_not_fit_with_400_on_lines(customer_api):
    a, b = legacy_product(stock=100), legacy_product(stock=100)
    r = place(customer_api, (a, 100), (b, 100))  # each line fits; together they do not
    assert r.status_code == 400, r.content
    assert errors(r) == [("out_of_range", "lines")]
    assert (stock(a), stock(b), Order.objects.count()) == (100, 100, 0)


def test_order_place_of_a_legacy_product_that_fits_is_placed_and_reads_back(customer_api):
    dear = legacy_product(stock=100)
    r = place(customer_api, (dear, 100), (make_product(price="0.99", stock=1), 1))
    assert r.status_code == 201, r.content
    body = r.json()
    assert [line["line_total"] for line in body["lines"]] == ["999999999999.00", "0.99"]
    assert body["subtotal"] == body["total"] == "999999999999.99"  # exactly what the columns hold
    assert customer_api.get(order_url(body["id"])).json() == body
    assert customer_api.get(ORDERS).json()["results"] == [body]


def test_order_cancel_that_would_overflow_the_stock_column_is_refused_and_changes_nothing(customer_api):
    product = make_product(stock=MAX_STOCK)
    order = place(customer_api, (product, 10)).json()
    # Units given back meanwhile (other cancels) left the stock at the column's edge.
    inventory_services.stock_move(
        changes=[StockChange(product.id, STOCK_COLUMN_MAX - MAX_STOCK + 1)], reason="x", created_by_id=None
    )

    r = customer_api.post(order_url(order["id"], "cancel"))  # would leave one unit too many

    assert r.status_code == 400, r.content
    assert errors(r) == [("stock_limit_exceeded", None)]
    assert customer_api.get(order_url(order["id"])).json()["status"] == "pending"
    assert stock(product) == STOCK_COLUMN_MAX - 9 == ledger_sum(product)
