"""The fast order rendering says exactly what DRF's rendering of OrderSerializer's
declared fields says: from a model, from ``.values()`` rows, and over HTTP."""

import json
from decimal import Decimal

import pytest
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from orders import selectors, services
from orders.domain.placement import DraftLine, OrderDraft
from orders.domain.status import Status
from orders.models import Coupon, Order
from orders.serializers import OrderSerializer, order_representation
from tests.factories import make_product
from tests.orders.helpers import ORDERS, order_url

pytestmark = pytest.mark.django_db


def drf_rendering(order: Order) -> dict:
    """OrderSerializer rendered field by field, the way DRF does it for any ModelSerializer."""
    return serializers.ModelSerializer.to_representation(OrderSerializer(), order)


@pytest.fixture
def orders(customer, staff) -> list[Order]:
    cheap = make_product(price="0.00", name="Free sample ünïcode \u2028", stock=50)
    odd = make_product(price="12.5", stock=50)
    dear = make_product(price="9999999999.99", stock=50)
    Coupon.objects.create(code="TENOFF", percent_off=Decimal("10"))
    Coupon.objects.create(code="FIVER", amount_off=Decimal("5"))
    placed = [
        services.order_place(customer=customer, draft=OrderDraft((DraftLine(cheap.id, 1),))).order,
        services.order_place(customer=customer, draft=OrderDraft((DraftLine(odd.id, 3), DraftLine(dear.id, 1)))).order,
        services.order_place(customer=customer, draft=OrderDraft((DraftLine(odd.id, 7),), coupon="tenoff")).order,
        services.order_place(customer=customer, draft=OrderDraft((DraftLine(odd.id, 1), DraftLine(cheap.id, 2)), coupon="FIVER")).order,
    ]  # fmt: skip
    services.order_cancel(order_id=placed[1].id, actor=staff)
    services.order_transition(order_id=placed[2].id, target=Status.PAID, actor=staff)
    return placed


def test_the_order_just_placed_renders_as_drf_would(orders):
    for order in orders:
        fast = OrderSerializer(order).data
        assert fast == drf_rendering(order)
        assert list(fast) == list(OrderSerializer().fields)


def test_an_order_read_back_renders_as_drf_would(orders):
    for placed in orders:
        order = Order.objects.select_related("customer").prefetch_related("lines").get(id=placed.id)
        assert OrderSerializer(order).data == drf_rendering(order)


def test_order_rows_render_as_the_model_does(orders, customer):
    for placed in orders:
        order = Order.objects.select_related("customer").prefetch_related("lines").get(id=placed.id)
        assert order_representation(*selectors.order_rows(user=customer, order_id=order.id)) == drf_rendering(order)


def test_the_detail_and_the_list_answer_what_drf_would_render(orders, customer_api):
    for placed in orders:
        order = Order.objects.select_related("customer").prefetch_related("lines").get(id=placed.id)
        expected = json.loads(JSONRenderer().render(drf_rendering(order)))
        assert customer_api.get(order_url(order.id)).json() == expected
    listed = {o["id"]: o for o in customer_api.get(ORDERS).json()["results"]}
    for placed in orders:
        order = Order.objects.select_related("customer").prefetch_related("lines").get(id=placed.id)
        assert listed[order.id] == json.loads(JSONRenderer().render(drf_rendering(order)))


def test_order_rows_hide_other_customers_orders(orders, other_customer, staff):
    from django.http import Http404

    with pytest.raises(Http404):
        selectors.order_rows(user=other_customer, order_id=orders[0].id)
    order, lines = selectors.order_rows(user=staff, order_id=orders[0].id)
    assert order["id"] == orders[0].id and len(lines) == 1


def test_order_rows_of_an_order_without_lines_have_none(customer):
    # Placement never makes one; the one query (a LEFT JOIN) still finds it.
    order = Order.objects.create(customer=customer, subtotal=Decimal("0"), discount=Decimal("0"), total=Decimal("0"))
    row, lines = selectors.order_rows(user=customer, order_id=order.id)
    assert (row["id"], lines) == (order.id, [])


def test_an_order_id_beyond_64_bits_is_not_found(customer_api):
    r = customer_api.get(order_url(2**63))
    assert r.status_code == 404, r.content
