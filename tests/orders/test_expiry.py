"""Unpaid orders expire: `expires_at` is stamped when an order is placed and
cleared when it leaves pending; beat's task expires due orders, giving their
stock and coupon use back exactly as a cancel does, with an event and an
email; it is safe run twice or on two workers, and an expiry racing a
payment or a cancel never both happen."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from inventory.models import Product, StockMovement
from orders import services
from orders.domain.placement import DraftLine, OrderDraft
from orders.domain.status import Status
from orders.errors import InvalidTransition
from orders.models import Coupon, Order, OrderEvent
from orders.tasks import orders_expire_due_task
from tests.conftest import requires_postgres
from tests.factories import UserFactory, make_product
from tests.support.metrics import metric
from tests.support.threads import run_together
from users.models import User

ORDERS = "/api/v1/orders/"


def place(customer: User, product: Product, quantity: int = 1, coupon: str | None = None) -> Order:
    draft = OrderDraft((DraftLine(product.id, quantity),), coupon)
    return services.order_place(customer=customer, draft=draft).order


def make_due(*orders: Order) -> None:
    Order.objects.filter(id__in=[o.id for o in orders]).update(expires_at=timezone.now() - timedelta(seconds=1))


def status_of(order: Order) -> str:
    return Order.objects.values_list("status", flat=True).get(id=order.id)


@pytest.mark.django_db
def test_an_order_is_placed_with_its_time_to_pay_and_paying_clears_it(customer_api, staff_api, settings):
    settings.ORDER_PAYMENT_MINUTES = 45
    product = make_product(stock=5)
    before = timezone.now()
    r = customer_api.post(ORDERS, {"lines": [{"product_id": product.id, "quantity": 1}]}, format="json")
    assert r.status_code == 201, r.content
    expires_at = Order.objects.get(id=r.json()["id"]).expires_at
    assert before + timedelta(minutes=45) <= expires_at <= timezone.now() + timedelta(minutes=45)
    assert r.json()["expires_at"] == customer_api.get(f"{ORDERS}{r.json()['id']}/").json()["expires_at"]
    assert r.json()["expires_at"].endswith("Z")

    paid = staff_api.post(f"{ORDERS}{r.json()['id']}/transition/", {"status": "paid"})
    assert paid.status_code == 200 and paid.json()["expires_at"] is None


@pytest.mark.django_db
def test_with_payment_minutes_0_orders_never_expire(customer_api, settings):
    settings.ORDER_PAYMENT_MINUTES = 0
    product = make_product(stock=5)
    r = customer_api.post(ORDERS, {"lines": [{"product_id": product.id, "quantity": 1}]}, format="json")
    assert r.json()["expires_at"] is None
    assert orders_expire_due_task() == 0
    assert status_of(Order.objects.get(id=r.json()["id"])) == "pending"


@pytest.mark.django_db
def test_a_due_order_expires_and_gives_back_what_a_cancel_gives(
    customer, customer_api, django_capture_on_commit_callbacks
):
    product = make_product(stock=10)
    Coupon.objects.create(code="LATE10", percent_off=Decimal("10"), max_uses=5)
    due = place(customer, product, 3, coupon="LATE10")
    waiting = place(customer, product, 2)
    make_due(due)
    counted = metric("stockroom_orders_expired_total")

    with django_capture_on_commit_callbacks(execute=True):
        assert orders_expire_due_task() == 1

    assert metric("stockroom_orders_expired_total") == counted + 1
    assert status_of(due) == "expired" and status_of(waiting) == "pending"
    assert Product.objects.get(id=product.id).stock == 10 - 2
    assert Coupon.objects.get(code="LATE10").times_used == 0
    movement = StockMovement.objects.filter(order_id=due.id).order_by("-id").first()
    assert (movement.delta, movement.reason, movement.created_by_id) == (3, f"order {due.id} expired", None)
    event = OrderEvent.objects.filter(order=due).order_by("-id").first()
    assert (event.type, event.from_status, event.to_status, event.actor_id) == (
        "status_changed",
        "pending",
        "expired",
        None,
    )
    body = customer_api.get(f"{ORDERS}{due.id}/").json()
    assert body["status"] == "expired" and body["expires_at"] is None
    assert [e["actor"] for e in customer_api.get(f"{ORDERS}{due.id}/events/").json()][-1] is None
    assert any(f"order {due.id} expired" in m.subject for m in mail.outbox)
    call_command("reconcile_inventory")  # the ledger still adds up: exits 0


@pytest.mark.django_db
def test_the_task_run_again_expires_nothing_more(customer):
    product = make_product(stock=10)
    order = place(customer, product, 4)
    make_due(order)
    assert orders_expire_due_task() == 1
    assert orders_expire_due_task() == 0
    assert Product.objects.get(id=product.id).stock == 10
    assert OrderEvent.objects.filter(order=order, to_status="expired").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("target", ["expired", "returned"])
def test_nobody_may_ask_for_a_move_only_the_system_makes(staff_api, customer, target):
    order = place(customer, make_product(stock=5))
    r = staff_api.post(f"{ORDERS}{order.id}/transition/", {"status": target})
    assert r.status_code == 409 and r.json()["errors"][0]["code"] == "invalid_transition"
    assert status_of(order) == "pending"


@pytest.mark.django_db
def test_an_expired_order_cannot_be_paid_or_cancelled(staff_api, customer):
    order = place(customer, make_product(stock=5))
    make_due(order)
    orders_expire_due_task()
    for path, body in (("transition/", {"status": "paid"}), ("cancel/", {})):
        r = staff_api.post(f"{ORDERS}{order.id}/{path}", body)
        assert r.status_code == 409 and r.json()["errors"][0]["code"] == "invalid_transition"


@pytest.mark.django_db
def test_top_customers_leave_out_expired_orders(staff_api):
    spender, lapsed = UserFactory.create(), UserFactory.create()
    product = make_product(stock=50, price="10.00")
    services.order_transition(order_id=place(spender, product, 1).id, target=Status.PAID, actor=spender)
    make_due(place(lapsed, product, 5))
    orders_expire_due_task()
    rows = staff_api.get("/api/v1/reports/top-customers/").json()
    assert [r["customer"]["id"] for r in rows] == [spender.id]


@pytest.mark.django_db
def test_a_negative_payment_time_is_refused_at_start(monkeypatch):
    import importlib

    from django.core.exceptions import ImproperlyConfigured

    import config.settings

    monkeypatch.setenv("ORDER_PAYMENT_MINUTES", "-5")
    with pytest.raises(ImproperlyConfigured, match="ORDER_PAYMENT_MINUTES"):
        importlib.reload(config.settings)
    monkeypatch.delenv("ORDER_PAYMENT_MINUTES")
    importlib.reload(config.settings)


# --- On PostgreSQL, with real threads ---------------------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_an_expiry_and_a_payment_at_once_never_both_happen():
    customer, staff = UserFactory.create(), UserFactory.create(is_staff=True)
    product = make_product(stock=100)
    for _ in range(10):
        order = place(customer, product)
        make_due(order)
        outcomes = run_together(lambda order=order: _pay_or_expire(order, staff), threads=2)
        assert status_of(order) in {"paid", "expired"}
        assert sorted(outcomes).count("won") == 1, outcomes
    expired = Order.objects.filter(status="expired").count()
    assert Product.objects.get(id=product.id).stock == 100 - (10 - expired)


_turn = iter(range(10**6))


def _pay_or_expire(order: Order, staff: User) -> str:
    if next(_turn) % 2:
        return "won" if services.order_expire(order_id=order.id) is not None else "lost"
    try:
        services.order_transition(order_id=order.id, target=Status.PAID, actor=staff)
    except InvalidTransition:
        return "lost"
    return "won"


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_expiring_at_once_expire_each_order_once():
    customer = UserFactory.create()
    product = make_product(stock=100)
    orders = [place(customer, product, 2) for _ in range(20)]
    make_due(*orders)

    expired = run_together(services.orders_expire_due, threads=3)

    assert sum(expired) == 20
    assert Product.objects.get(id=product.id).stock == 100
    assert OrderEvent.objects.filter(to_status="expired").count() == 20
    with transaction.atomic():
        assert StockMovement.objects.filter(reason__endswith="expired").count() == 20
