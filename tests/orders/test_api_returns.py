"""Returns and refunds through the API and the admin: staff record units of a
delivered order that came back; refunds are cumulative, so they add up to
exactly the order's total once every unit is back (the order becomes
`returned`); restocked units go back through the ledger; concurrent returns
never bring back more than was ordered."""

from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command

from inventory.models import Product, StockMovement
from orders import services
from orders.domain.placement import DraftLine, OrderDraft
from orders.domain.returns import ReturnDraft, ReturnDraftLine
from orders.domain.status import Status
from orders.models import Coupon, Order, OrderEvent, OrderLine, Return
from tests.conftest import requires_postgres
from tests.factories import UserFactory, make_product
from tests.support.metrics import metric
from tests.support.threads import run_together
from users.models import User

ORDERS = "/api/v1/orders/"


def returns_url(order_id: int) -> str:
    return f"{ORDERS}{order_id}/returns/"


def delivered(customer: User, *lines: tuple[Product, int], coupon: str | None = None) -> Order:
    draft = OrderDraft(tuple(DraftLine(p.id, q) for p, q in lines), coupon)
    order = services.order_place(customer=customer, draft=draft).order
    for status in (Status.PAID, Status.SHIPPED, Status.DELIVERED):
        services.order_transition(order_id=order.id, target=status, actor=customer)
    return order


def give_back(client: Any, order: Order, *lines: dict[str, Any], reason: str | None = None) -> Any:
    body: dict[str, Any] = {"lines": list(lines)}
    if reason is not None:
        body["reason"] = reason
    return client.post(returns_url(order.id), body, format="json")


@pytest.mark.django_db
def test_a_partial_then_a_final_return_refund_exactly_the_total(staff_api, customer_api, customer, staff):
    mug, cap = make_product(price="10.00", stock=10), make_product(price="5.00", stock=10)
    Coupon.objects.create(code="THIRD", amount_off=Decimal("10.00"))
    order = delivered(customer, (mug, 3), (cap, 2), coupon="THIRD")  # subtotal 40.00, total 30.00

    first = give_back(staff_api, order, {"product_id": mug.id, "quantity": 1}, reason="Chipped")
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["order_id"] == order.id and body["reason"] == "Chipped"
    assert body["lines"] == [{"product_id": mug.id, "quantity": 1, "restock": True, "refund_amount": "7.50"}]
    assert body["refund_total"] == "7.50"
    assert body["created_by"] == {"id": staff.id, "email": staff.email}

    second = give_back(
        staff_api, order, {"product_id": mug.id, "quantity": 2}, {"product_id": cap.id, "quantity": 2, "restock": False}
    )
    assert second.status_code == 201, second.content
    assert second.json()["refund_total"] == "22.50"
    assert sum(Decimal(line["refund_amount"]) for line in second.json()["lines"]) == Decimal("22.50")

    shown = customer_api.get(f"{ORDERS}{order.id}/").json()
    assert shown["status"] == "returned" and shown["refunded_total"] == "30.00" == shown["total"]
    assert [line["returned_quantity"] for line in shown["lines"]] == [3, 2]
    assert Product.objects.get(id=mug.id).stock == 10  # the mugs are back on the shelf
    assert Product.objects.get(id=cap.id).stock == 8  # the caps were not restocked
    events = [
        (e["type"], e["from_status"], e["to_status"]) for e in customer_api.get(f"{ORDERS}{order.id}/events/").json()
    ]
    assert events[-3:] == [
        ("return_recorded", None, None),
        ("return_recorded", None, None),
        ("status_changed", "delivered", "returned"),
    ]
    listed = customer_api.get(returns_url(order.id))
    assert listed.status_code == 200 and [r["refund_total"] for r in listed.json()] == ["7.50", "22.50"]
    call_command("reconcile_inventory")  # the ledger adds up: exits 0


@pytest.mark.django_db
def test_restocked_units_are_ledger_movements_with_the_order_id(staff_api, customer, staff):
    product = make_product(stock=5)
    order = delivered(customer, (product, 2))
    assert give_back(staff_api, order, {"product_id": product.id, "quantity": 2}).status_code == 201
    movement = StockMovement.objects.filter(order_id=order.id).order_by("-id").first()
    assert (movement.delta, movement.reason, movement.created_by_id) == (2, f"order {order.id} returned", staff.id)


@pytest.mark.django_db
def test_the_customer_is_emailed_the_refund_and_metrics_count_it(
    staff_api, customer, django_capture_on_commit_callbacks
):
    product = make_product(price="12.00", stock=5)
    order = delivered(customer, (product, 2))
    returns, refunded = metric("stockroom_order_returns_total"), metric("stockroom_refunded_total")
    with django_capture_on_commit_callbacks(execute=True):
        assert give_back(staff_api, order, {"product_id": product.id, "quantity": 1}).status_code == 201
    assert metric("stockroom_order_returns_total") == returns + 1
    assert metric("stockroom_refunded_total") == pytest.approx(refunded + 12.0)
    (email,) = [m for m in mail.outbox if "return" in m.subject]
    assert email.to == [customer.email] and str(order.id) in email.subject
    assert "12.00 USD" in email.body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("line", "attr", "code"),
    [
        ({"quantity": 3}, "lines.0.quantity", "return_exceeds_ordered"),
        ({"quantity": 0}, "lines.0.quantity", "min_value"),
        ({"quantity": "two"}, "lines.0.quantity", "invalid"),
        ({"product_id": 999999}, "lines.0.product_id", None),
        ({"restock": "maybe"}, "lines.0.restock", "invalid"),
        ({"price": "1.00"}, "lines.0.price", "unknown_field"),
    ],
)
def test_a_bad_return_is_a_400_on_its_attr_and_changes_nothing(staff_api, customer, line, attr, code):
    product = make_product(stock=5)
    order = delivered(customer, (product, 2))
    r = give_back(staff_api, order, {"product_id": product.id, "quantity": 1, **line})
    assert r.status_code == 400, r.content
    assert attr in {e["attr"] for e in r.json()["errors"]}
    if code:
        assert code in {e["code"] for e in r.json()["errors"]}
    assert not Return.objects.exists()
    assert OrderLine.objects.get(order=order).returned_quantity == 0
    assert Product.objects.get(id=product.id).stock == 3


@pytest.mark.django_db
def test_more_than_ordered_over_two_returns_is_refused(staff_api, customer):
    product = make_product(stock=5)
    order = delivered(customer, (product, 2))
    assert give_back(staff_api, order, {"product_id": product.id, "quantity": 1}).status_code == 201
    r = give_back(staff_api, order, {"product_id": product.id, "quantity": 2})
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "return_exceeds_ordered"
    assert Order.objects.get(id=order.id).refunded_total == Decimal("10.00")


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["pending", "paid", "shipped", "cancelled"])
def test_only_a_delivered_order_takes_returns(staff_api, customer, status):
    product = make_product(stock=5)
    order = services.order_place(customer=customer, draft=OrderDraft((DraftLine(product.id, 1),))).order
    path = {
        "pending": [],
        "paid": [Status.PAID],
        "shipped": [Status.PAID, Status.SHIPPED],
        "cancelled": [Status.CANCELLED],
    }
    for target in path[status]:
        services.order_transition(order_id=order.id, target=target, actor=customer)
    r = give_back(staff_api, order, {"product_id": product.id, "quantity": 1})
    assert r.status_code == 409 and r.json()["errors"][0]["code"] == "invalid_transition"


@pytest.mark.django_db
def test_customers_may_read_their_returns_but_not_record_them(customer_api, other_api, customer):
    product = make_product(stock=5)
    order = delivered(customer, (product, 1))
    assert give_back(customer_api, order, {"product_id": product.id, "quantity": 1}).status_code == 403
    assert customer_api.get(returns_url(order.id)).json() == []
    assert other_api.get(returns_url(order.id)).status_code == 404
    assert not Return.objects.exists()


@pytest.mark.django_db
def test_the_admin_action_records_the_return_of_every_unit_still_out(client, staff_api, customer):
    admin = UserFactory.create(is_staff=True, is_superuser=True)
    client.force_login(admin)
    product = make_product(price="4.00", stock=5)
    order = delivered(customer, (product, 3))
    give_back(staff_api, order, {"product_id": product.id, "quantity": 1})

    r = client.post(
        "/admin/orders/order/", {"action": "record_full_return", "_selected_action": [order.id]}, follow=True
    )
    assert r.status_code == 200
    order.refresh_from_db()
    assert order.status == "returned" and order.refunded_total == order.total
    assert Return.objects.filter(order=order).last().created_by_id == admin.id
    page = client.get(f"/admin/orders/order/{order.id}/change/")
    assert page.status_code == 200 and b"recorded in the admin" in page.content


@pytest.mark.django_db
def test_top_customers_subtract_refunds(staff_api):
    big, small = UserFactory.create(), UserFactory.create()
    product = make_product(price="10.00", stock=50)
    order = delivered(big, (product, 3))
    delivered(small, (product, 2))
    services.order_return_record(
        order_id=order.id, draft=ReturnDraft((ReturnDraftLine(product.id, 2),)), reason="", actor=big
    )
    rows = staff_api.get("/api/v1/reports/top-customers/").json()
    assert [(r["customer"]["id"], r["total_spent"]) for r in rows] == [(small.id, "20.00"), (big.id, "10.00")]


# --- On PostgreSQL, with real threads ---------------------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_returns_never_bring_back_more_than_was_ordered():
    customer, staff = UserFactory.create(), UserFactory.create(is_staff=True)
    product = make_product(price="3.00", stock=20)
    order = delivered(customer, (product, 5))

    def one() -> str:
        try:
            services.order_return_record(
                order_id=order.id, draft=ReturnDraft((ReturnDraftLine(product.id, 2),)), reason="", actor=staff
            )
        except Exception as exc:  # the refused ones
            return type(exc).__name__
        return "recorded"

    outcomes = run_together(one, threads=6)

    assert outcomes.count("recorded") == 2  # 2 + 2 of 5; a third would make 6
    assert set(outcomes) - {"recorded"} == {"ReturnRejected"}
    line = OrderLine.objects.get(order=order)
    assert line.returned_quantity == 4
    assert Product.objects.get(id=product.id).stock == 20 - 5 + 4
    assert Order.objects.get(id=order.id).refunded_total == Decimal("12.00")
    assert OrderEvent.objects.filter(order=order, type="return_recorded").count() == 2
