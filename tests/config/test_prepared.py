"""A prepared query gives exactly the rows its queryset gives, in one query."""

from decimal import Decimal

import pytest
from django.db import transaction

from config.db.prepared import Prepared
from inventory.models import Product
from orders import services
from orders.domain.placement import DraftLine, OrderDraft
from orders.models import Coupon, Order
from orders.selectors import ORDER_COLUMNS
from tests.factories import make_product
from users.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(customer, other_customer) -> list[Order]:
    products = [make_product(price=p, stock=10) for p in ("0.00", "12.5", "9999999999.99")]
    Coupon.objects.create(code="TENOFF", percent_off=Decimal("10"))
    return [
        services.order_place(customer=customer, draft=OrderDraft((DraftLine(products[0].id, 1),))).order,
        services.order_place(
            customer=customer, draft=OrderDraft((DraftLine(products[1].id, 3),), coupon="TENOFF")
        ).order,
        services.order_place(customer=other_customer, draft=OrderDraft((DraftLine(products[2].id, 1),))).order,
    ]


def own_orders(id, customer_id):
    return Order.objects.filter(id=id, customer_id=customer_id).order_by().values(*ORDER_COLUMNS)


def test_values_are_the_querysets_values(orders, customer, other_customer):
    prepared = Prepared(own_orders)
    for order in orders:
        for user in (customer, other_customer):
            assert prepared.values(id=order.id, customer_id=user.id) == list(own_orders(order.id, user.id))
    assert any(prepared.values(id=o.id, customer_id=customer.id) for o in orders)
    assert prepared.values(id=orders[2].id, customer_id=customer.id) == []


def test_instances_are_the_querysets_models(customer, staff):
    prepared = Prepared(lambda user_id: User.objects.filter(id=user_id).order_by())
    for user in (customer, staff):
        (got,) = prepared.instances(user_id=user.id)
        want = User.objects.get(id=user.id)
        fields = [f.attname for f in User._meta.concrete_fields]
        assert [getattr(got, f) for f in fields] == [getattr(want, f) for f in fields]
        assert got.date_joined.tzinfo is not None and not got._state.adding


def test_tuple_arguments_of_any_length_lock_and_read_the_rows(orders):
    prepared = Prepared(
        lambda ids: Product.objects.select_for_update().filter(id__in=ids).order_by("id").values_list("id", "price")
    )
    ids = sorted(Product.objects.values_list("id", flat=True))
    with transaction.atomic():
        for n in (1, 2, 3):
            rows = prepared.values(ids=ids[:n])
            want = list(Product.objects.filter(id__in=ids[:n]).order_by("id").values("id", "price"))
            assert rows == want


def test_one_query_per_call(orders, customer, django_assert_num_queries):
    prepared = Prepared(own_orders)
    prepared.values(id=orders[0].id, customer_id=customer.id)
    with django_assert_num_queries(1):
        prepared.values(id=orders[1].id, customer_id=customer.id)


def test_an_argument_the_query_does_not_use_is_refused():
    with pytest.raises(ValueError, match="not parameters"):
        Prepared(lambda id, unused: Order.objects.filter(id=id)).values(id=1, unused=2)


def test_values_and_instances_are_not_mixed(customer):
    with pytest.raises(TypeError):
        Prepared(lambda id: User.objects.filter(id=id)).values(id=customer.id)
    with pytest.raises(TypeError):
        Prepared(lambda id: User.objects.filter(id=id).values("id")).instances(id=customer.id)


def test_an_argument_beyond_64_bits_matches_nothing_and_asks_nothing(orders, customer, django_assert_num_queries):
    prepared = Prepared(own_orders)
    ids = Prepared(lambda ids: Order.objects.filter(id__in=ids).order_by("id").values("id"))
    with django_assert_num_queries(0):
        assert prepared.values(id=2**63, customer_id=customer.id) == []
        assert prepared.values(id=orders[0].id, customer_id=-(2**63) - 1) == []
        assert ids.values(ids=[2**64]) == []
    assert ids.values(ids=[orders[0].id, 2**63]) == [{"id": orders[0].id}]
