"""The orders and coupons admin: staff run the business here, through the
same services as the API, so stock, the ledger and coupon uses stay right."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import Product, StockMovement
from orders.admin import CouponAdminForm
from orders.domain.placement import DraftLine, OrderDraft
from orders.models import Coupon, Order
from orders.services import coupon_create, order_place
from tests.conftest import requires_postgres
from tests.factories import UserFactory, make_product
from tests.support.threads import run_together

pytestmark = pytest.mark.django_db
ORDERS = "/admin/orders/order/"
COUPONS = "/admin/orders/coupon/"


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    return client


def place(customer, *lines, coupon=None):
    draft = OrderDraft(tuple(DraftLine(p.id, q) for p, q in lines), coupon)
    return order_place(customer=customer, draft=draft).order


def act(admin_client, action: str, *orders: Order):
    return admin_client.post(ORDERS, {"action": action, "_selected_action": [o.id for o in orders]}, follow=True)


def test_the_order_change_list_finds_an_order_by_id_and_by_customer_email(admin_client):
    alice = UserFactory.create(email="alice@shop.example")
    order = place(alice, (make_product(), 1))
    other = place(UserFactory.create(), (make_product(), 1))
    by_email = admin_client.get(ORDERS, {"q": "alice@shop.example"})
    assert by_email.status_code == 200
    assert list(by_email.context["cl"].result_list) == [order]
    by_id = admin_client.get(ORDERS, {"q": str(other.id)})
    assert list(by_id.context["cl"].result_list) == [other]
    assert admin_client.get(ORDERS, {"q": "not-a-number"}).status_code == 200


def test_the_order_page_shows_its_lines_read_only(admin_client):
    product = make_product(sku="LINE-SKU-1", name="Line product")
    order = place(UserFactory.create(), (product, 3))
    page = admin_client.get(f"{ORDERS}{order.id}/change/")
    assert page.status_code == 200
    assert b"LINE-SKU-1" in page.content and b"Line product" in page.content
    assert b'name="lines-0-quantity"' not in page.content  # not editable


def test_the_cancel_action_returns_stock_and_the_coupon_use(admin_client):
    product = make_product(stock=10)
    coupon_create(code="ADMIN5", amount_off=Decimal("5.00"))
    order = place(UserFactory.create(), (product, 4), coupon="ADMIN5")
    assert Product.objects.get(id=product.id).stock == 6
    page = act(admin_client, "mark_cancelled", order)
    assert page.status_code == 200
    assert "1 order(s)" in page.content.decode()
    assert Order.objects.get(id=order.id).status == "cancelled"
    assert Product.objects.get(id=product.id).stock == 10
    assert Coupon.objects.get(code="ADMIN5").times_used == 0
    back = StockMovement.objects.filter(order_id=order.id, delta=4).get()
    assert back.created_by_id is not None  # the staff member who cancelled


def test_the_status_actions_follow_the_machine_and_report_what_they_could_not_do(admin_client):
    customer = UserFactory.create()
    pending = place(customer, (make_product(), 1))
    delivered_too_soon = place(customer, (make_product(), 1))
    act(admin_client, "mark_paid", pending)
    act(admin_client, "mark_shipped", pending)
    act(admin_client, "mark_delivered", pending)
    assert Order.objects.get(id=pending.id).status == "delivered"
    page = act(admin_client, "mark_delivered", delivered_too_soon)
    assert Order.objects.get(id=delivered_too_soon.id).status == "pending"
    assert "Not changed" in page.content.decode()
    assert "pending to delivered" in page.content.decode()
    page = act(admin_client, "mark_cancelled", pending)
    assert Order.objects.get(id=pending.id).status == "delivered"
    assert "Not changed" in page.content.decode()


def test_orders_cannot_be_added_or_deleted_in_the_admin(admin_client):
    order = place(UserFactory.create(), (make_product(), 1))
    assert admin_client.get(f"{ORDERS}add/").status_code == 403
    assert admin_client.get(f"{ORDERS}{order.id}/delete/").status_code == 403


def test_a_customer_is_refused(client):
    client.force_login(UserFactory.create())
    r = client.get(ORDERS)
    assert r.status_code == 302 and "/admin/login/" in r["Location"]


def count_queries(admin_client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert admin_client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_order_and_coupon_change_lists_run_the_same_queries_for_5_and_60_rows(admin_client):
    product = make_product(stock=1000)
    customers = [UserFactory.create() for _ in range(5)]
    for n in range(5):
        place(customers[n], (product, 1))
        coupon_create(code=f"FEW{n}", percent_off=Decimal(5))
    few = (count_queries(admin_client, ORDERS), count_queries(admin_client, COUPONS))
    for n in range(55):
        place(customers[n % 5], (product, 1))
        coupon_create(code=f"MANY{n}", percent_off=Decimal(5))
    assert Order.objects.count() == 60 and Coupon.objects.count() == 60
    assert (count_queries(admin_client, ORDERS), count_queries(admin_client, COUPONS)) == few


def test_the_coupon_form_enforces_the_same_rules_as_the_api(admin_client):
    r = admin_client.post(f"{COUPONS}add/", {"code": "BOTH", "percent_off": "10", "amount_off": "5", "is_active": "on"})
    assert r.status_code == 200  # the form again, with the error
    assert "exactly one of percent_off and amount_off" in r.content.decode()
    assert not Coupon.objects.filter(code="BOTH").exists()
    r = admin_client.post(f"{COUPONS}add/", {"code": "GOOD10", "percent_off": "10", "is_active": "on"})
    assert r.status_code == 302
    coupon = Coupon.objects.get(code="GOOD10")
    assert coupon.times_used == 0


# --- the coupon form never writes times_used: the services do, under the row's lock --------


def _order_in_this_transaction(coupon_code: str) -> Callable[[], None]:
    customer, product = UserFactory.create(), make_product()
    return lambda: place(customer, (product, 1), coupon=coupon_code)


def _order_from_another_connection(coupon_code: str) -> Callable[[], None]:
    """Another request's order, committed on its own connection while the
    admin's transaction is open (its customer and product committed before)."""
    customer, product = UserFactory.create(), make_product()

    def order() -> None:
        run_together(lambda: place(customer, (product, 1), coupon=coupon_code), threads=1)

    return order


MEANWHILE = [
    pytest.param(_order_in_this_transaction, id="same-connection"),
    pytest.param(
        _order_from_another_connection,
        id="another-connection",
        marks=[requires_postgres, pytest.mark.django_db(transaction=True)],
    ),
]


def uses(coupon: Coupon) -> int:
    return Order.objects.filter(coupon=coupon).exclude(status="cancelled").count()


def post_while_an_order_uses_it(admin_client, monkeypatch, coupon: Coupon, data: dict, meanwhile):
    """Post the coupon's change form; an order uses the coupon after the form
    was checked and before it is saved — as a checkout racing the save would."""
    checked, order = CouponAdminForm.clean, meanwhile(coupon.code)

    def clean_then_an_order(form: CouponAdminForm) -> Any:
        cleaned = checked(form)
        order()
        return cleaned

    monkeypatch.setattr(CouponAdminForm, "clean", clean_then_an_order)
    return admin_client.post(f"{COUPONS}{coupon.id}/change/", data, follow=True)


@pytest.mark.parametrize("meanwhile", MEANWHILE)
def test_an_order_using_the_coupon_while_its_form_is_saved_keeps_its_use(admin_client, monkeypatch, meanwhile):
    coupon = coupon_create(code="RACE10", percent_off=Decimal(10), max_uses=10)
    place(UserFactory.create(), (make_product(), 1), coupon="RACE10")
    form = admin_client.get(f"{COUPONS}{coupon.id}/change/")
    assert form.status_code == 200 and "times_used" not in form.context["adminform"].form.fields

    r = post_while_an_order_uses_it(
        admin_client,
        monkeypatch,
        coupon,
        {"code": "RACE10", "percent_off": "10", "max_uses": "20", "is_active": "on", "times_used": "0"},
        meanwhile,
    )

    assert r.status_code == 200 and "was changed successfully" in r.content.decode()
    coupon.refresh_from_db()
    assert coupon.max_uses == 20  # the form's change
    assert coupon.times_used == uses(coupon) == 2  # and both orders' uses


@pytest.mark.parametrize("meanwhile", MEANWHILE)
def test_a_max_uses_that_an_order_passed_meanwhile_is_refused_with_the_reason(admin_client, monkeypatch, meanwhile):
    coupon = coupon_create(code="LAST1", amount_off=Decimal("1.00"), max_uses=5)
    place(UserFactory.create(), (make_product(), 1), coupon="LAST1")

    r = post_while_an_order_uses_it(
        admin_client,
        monkeypatch,
        coupon,
        {"code": "LAST1", "amount_off": "1.00", "max_uses": "1", "is_active": "on"},  # valid when checked
        meanwhile,
    )

    assert r.status_code == 200
    assert "Not saved — This coupon has been used 2 times already." in r.content.decode()
    assert r.redirect_chain[-1][0] == f"{COUPONS}{coupon.id}/change/"  # the form again
    coupon.refresh_from_db()
    assert coupon.max_uses == 5
    assert coupon.times_used == uses(coupon)


def test_coupons_are_deleted_through_the_admin_and_their_orders_keep_the_code(admin_client):
    used = coupon_create(code="GONE5", amount_off=Decimal("5.00"))
    order = place(UserFactory.create(), (make_product(), 1), coupon="GONE5")
    unused = coupon_create(code="UNUSED5", amount_off=Decimal("5.00"))

    one = admin_client.post(f"{COUPONS}{used.id}/delete/", {"post": "yes"})
    many = admin_client.post(COUPONS, {"action": "delete_selected", "_selected_action": [unused.id], "post": "yes"})

    assert (one.status_code, many.status_code) == (302, 302)
    assert not Coupon.objects.exists()
    assert Order.objects.get(id=order.id).coupon_code == "GONE5"
