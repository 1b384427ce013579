"""HTTP contract of /api/v1/reports/top-customers/."""

from decimal import Decimal

import pytest

from orders import services
from orders.domain.placement import DraftLine, OrderDraft
from orders.domain.status import Status
from orders.models import Coupon, Order
from tests.factories import UserFactory, make_product
from tests.orders.helpers import TOP_CUSTOMERS, errors

pytestmark = pytest.mark.django_db


def buy(user, product, quantity: int = 1) -> int:
    draft = OrderDraft(lines=(DraftLine(product.id, quantity),))
    return services.order_place(customer=user, draft=draft).order.id


def row(user, order_count: int, total_spent: str) -> dict:
    return {
        "customer": {"id": user.id, "email": user.email, "username": user.username},
        "order_count": order_count,
        "total_spent": total_spent,
    }


def test_top_customers_ranks_the_biggest_spender_first_over_orders_not_cancelled(staff_api, staff):
    p = make_product(price="10.25", stock=1000)
    big, small, many, gone = (UserFactory.create() for _ in range(4))
    buy(big, p, 10)  # 102.50
    buy(small, p, 1)  # 10.25
    for _ in range(3):
        buy(many, p, 2)  # 3 × 20.50 = 61.50
    cancelled = buy(many, p, 50)  # would make them first
    services.order_cancel(order_id=cancelled, actor=staff)
    services.order_cancel(order_id=buy(gone, p, 99), actor=staff)  # only cancelled orders: not listed
    paid = buy(small, p, 2)
    services.order_transition(order_id=paid, target=Status.PAID, actor=staff)  # 20.50, still counts

    r = staff_api.get(TOP_CUSTOMERS)

    assert r.status_code == 200, r.content
    assert r.json() == [row(big, 1, "102.50"), row(many, 3, "61.50"), row(small, 2, "30.75")]


def test_top_customers_total_spent_is_a_two_place_string_after_discounts(staff_api):
    p = make_product(price="3.00", stock=10)
    Coupon.objects.create(code="THIRD", percent_off=Decimal("33.33"))
    user = UserFactory.create()
    services.order_place(customer=user, draft=OrderDraft(lines=(DraftLine(p.id, 1),), coupon="THIRD"))  # 3.00 − 1.00
    buy(user, p, 1)

    assert staff_api.get(TOP_CUSTOMERS).json() == [row(user, 2, "5.00")]


def test_top_customers_limit_defaults_to_10_and_goes_up_to_100(staff_api):
    p = make_product(price="1.00", stock=1000)
    users = [UserFactory.create() for _ in range(12)]
    for n, user in enumerate(users, start=1):
        buy(user, p, n)  # user n spends n

    default = staff_api.get(TOP_CUSTOMERS).json()
    assert [r["customer"]["id"] for r in default] == [u.id for u in reversed(users)][:10]
    assert [r["total_spent"] for r in default][:2] == ["12.00", "11.00"]
    assert len(staff_api.get(TOP_CUSTOMERS, {"limit": 3}).json()) == 3
    assert len(staff_api.get(TOP_CUSTOMERS, {"limit": 100}).json()) == 12
    assert len(staff_api.get(TOP_CUSTOMERS, {"limit": 1}).json()) == 1


@pytest.mark.parametrize("limit", ["0", "101", "x", "-1", "1.5"])
def test_top_customers_refuses_a_bad_limit_with_400_on_limit(staff_api, limit):
    r = staff_api.get(TOP_CUSTOMERS, {"limit": limit})
    assert r.status_code == 400
    assert r.json()["type"] == "validation_error"
    assert [attr for _, attr in errors(r)] == ["limit"]


def test_top_customers_with_no_orders_is_an_empty_list(staff_api):
    r = staff_api.get(TOP_CUSTOMERS)
    assert r.status_code == 200
    assert r.json() == []


def test_top_customers_is_staff_only(customer_api, anon):
    r = customer_api.get(TOP_CUSTOMERS)
    assert r.status_code == 403
    assert errors(r) == [("permission_denied", None)]
    r = anon.get(TOP_CUSTOMERS)
    assert r.status_code == 401
    assert errors(r) == [("not_authenticated", None)]


def test_top_customers_runs_one_aggregate_query(staff_api, django_assert_max_num_queries):
    p = make_product(price="2.00", stock=1000)
    for _ in range(30):
        buy(UserFactory.create(), p, 2)

    # One query to load the JWT's user, one aggregate; nothing per customer.
    with django_assert_max_num_queries(2):
        r = staff_api.get(TOP_CUSTOMERS, {"limit": 100})
    assert len(r.json()) == 30


def test_top_customers_sums_any_number_of_the_largest_orders(staff_api, customer):
    # 1,001 orders of the largest total the price bound allows (100 lines × 1,000
    # units × 999,999.99), as the API would place them: their sum has 15 digits
    # before the point.
    largest = Decimal("99999999000.00")
    Order.objects.bulk_create(Order(customer=customer, subtotal=largest, total=largest) for _ in range(1001))
    r = staff_api.get(TOP_CUSTOMERS)
    assert r.status_code == 200, r.content
    assert r.json() == [row(customer, 1001, "100099998999000.00")]
