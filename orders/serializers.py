"""The HTTP contract of orders, coupons and reports: input and output, no logic."""

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.api.representation import money, timestamp
from config.api.serializers import InputSerializer
from orders.domain.placement import MAX_LINES, MAX_QUANTITY, MIN_QUANTITY
from orders.models import Coupon, Order, OrderEvent, OrderLine, OrderStatus, Return, ReturnLine
from orders.selectors import LINE_COLUMNS, ORDER_COLUMNS
from users.serializers import UserBriefSerializer

MAX_ID = 2**63 - 1
COUPON_CODE = r"^[A-Za-z0-9][A-Za-z0-9_-]*\Z"


class _CurrencyMixin(serializers.Serializer):
    currency = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField())
    def get_currency(self, obj: object) -> str:
        return settings.CURRENCY


# --- Orders ----------------------------------------------------------------------


class OrderLineInputSerializer(InputSerializer):
    product_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    quantity = serializers.IntegerField(min_value=MIN_QUANTITY, max_value=MAX_QUANTITY)


class OrderCreateInputSerializer(InputSerializer):
    # many=True hands min_length and max_length to the ListSerializer it makes; the stubs' __init__ omits them.
    lines = OrderLineInputSerializer(many=True, min_length=1, max_length=MAX_LINES)  # type: ignore[call-arg]
    coupon = serializers.RegexField(COUPON_CODE, max_length=64, required=False, allow_null=True)


class OrderLineSerializer(serializers.ModelSerializer[OrderLine]):
    product_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = OrderLine
        fields = ("product_id", "sku", "name", "quantity", "unit_price", "line_total", "returned_quantity")
        read_only_fields = fields


# An order as the API shows it. The fields below are the contract (and the
# schema); order_representation writes them without DRF's per-field cost, from
# a model or from .values() rows, and a test holds it to what DRF's own
# rendering of these fields gives. (A comment, not a docstring: a docstring
# would become the schema's description.)
class OrderSerializer(_CurrencyMixin, serializers.ModelSerializer[Order]):
    customer = UserBriefSerializer(read_only=True)
    lines = OrderLineSerializer(many=True, read_only=True)
    coupon = serializers.CharField(source="coupon_code", read_only=True, allow_null=True)

    class Meta:
        model = Order
        fields = (
            "id", "status", "customer", "lines", "subtotal", "discount", "total", "refunded_total", "currency",
            "coupon", "expires_at", "created_at", "updated_at",
        )  # fmt: skip
        read_only_fields = fields

    def to_representation(self, instance: Order) -> dict[str, Any]:
        return order_model_representation(instance, instance.lines.all())


def order_model_representation(order: Order, lines: Iterable[OrderLine]) -> dict[str, Any]:
    """:class:`OrderSerializer`'s output from an order and its lines (in position
    order) as models: an order just placed is rendered from the lines it wrote."""
    customer = order.customer
    row = {name: getattr(order, name) for name in ORDER_COLUMNS if "__" not in name}
    row.update(customer__email=customer.email, customer__username=customer.username)
    return order_representation(row, [{n: getattr(line, n) for n in LINE_COLUMNS} for line in lines])


def order_representation(order: Mapping[str, Any], lines: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """:class:`OrderSerializer`'s output from an order row and its line rows (in position order)."""
    return {
        "id": order["id"],
        "status": order["status"],
        "customer": {
            "id": order["customer_id"],
            "email": order["customer__email"],
            "username": order["customer__username"],
        },
        "lines": [
            {
                "product_id": line["product_id"],
                "sku": line["sku"],
                "name": line["name"],
                "quantity": line["quantity"],
                "unit_price": money(line["unit_price"]),
                "line_total": money(line["line_total"]),
                "returned_quantity": line["returned_quantity"],
            }
            for line in lines
        ],
        "subtotal": money(order["subtotal"]),
        "discount": money(order["discount"]),
        "total": money(order["total"]),
        "refunded_total": money(order["refunded_total"]),
        "currency": settings.CURRENCY,
        "coupon": order["coupon_code"],
        "expires_at": None if order["expires_at"] is None else timestamp(order["expires_at"]),
        "created_at": timestamp(order["created_at"]),
        "updated_at": timestamp(order["updated_at"]),
    }


class OrderTransitionInputSerializer(InputSerializer):
    status = serializers.ChoiceField(choices=OrderStatus.choices)


# --- The timeline ------------------------------------------------------------------


class EventActorSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    email = serializers.EmailField(read_only=True)


class OrderEventSerializer(serializers.ModelSerializer[OrderEvent]):
    actor = EventActorSerializer(read_only=True, allow_null=True)

    class Meta:
        model = OrderEvent
        fields = ("id", "type", "from_status", "to_status", "actor", "note", "created_at")
        read_only_fields = fields


class OrderNoteInputSerializer(InputSerializer):
    note = serializers.CharField(max_length=2000)


# --- Returns ---------------------------------------------------------------------


class ReturnLineInputSerializer(InputSerializer):
    product_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    quantity = serializers.IntegerField(min_value=MIN_QUANTITY, max_value=MAX_QUANTITY)
    restock = serializers.BooleanField(default=True)


class ReturnInputSerializer(InputSerializer):
    lines = ReturnLineInputSerializer(many=True, min_length=1, max_length=MAX_LINES)  # type: ignore[call-arg]
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ReturnLineSerializer(serializers.ModelSerializer[ReturnLine]):
    product_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = ReturnLine
        fields = ("product_id", "quantity", "restock", "refund_amount")
        read_only_fields = fields


class ReturnSerializer(serializers.ModelSerializer[Return]):
    order_id = serializers.IntegerField(read_only=True)
    lines = ReturnLineSerializer(many=True, read_only=True)
    created_by = EventActorSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Return
        fields = ("id", "order_id", "lines", "refund_total", "reason", "created_by", "created_at")
        read_only_fields = fields


# --- Coupons ---------------------------------------------------------------------


class CouponSerializer(serializers.ModelSerializer[Coupon]):
    class Meta:
        model = Coupon
        fields = (
            "id", "code", "percent_off", "amount_off", "valid_from", "valid_until", "max_uses", "times_used",
            "is_active",
        )  # fmt: skip
        read_only_fields = fields


class CouponInputSerializer(InputSerializer):
    """Exactly one of ``percent_off`` (in (0, 100]) and ``amount_off`` (> 0)."""

    code = serializers.RegexField(COUPON_CODE, max_length=64)
    percent_off = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=Decimal("0.01"), max_value=Decimal(100), required=False,
        allow_null=True,
    )  # fmt: skip
    amount_off = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0.01"), required=False, allow_null=True
    )
    valid_from = serializers.DateTimeField(required=False, allow_null=True)
    valid_until = serializers.DateTimeField(required=False, allow_null=True)
    max_uses = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False, allow_null=True)
    is_active = serializers.BooleanField(required=False, default=True)


class CouponUpdateInputSerializer(CouponInputSerializer):
    is_active = serializers.BooleanField(required=False)


# --- Reports ---------------------------------------------------------------------


class TopCustomersQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=100, default=10)


class TopCustomerSerializer(serializers.Serializer):
    customer = UserBriefSerializer()
    order_count = serializers.IntegerField()
    # A sum over any number of orders: no column bounds it (max_digits=16 was a
    # 500 for a customer with 1,001 of the largest orders).
    total_spent = serializers.DecimalField(max_digits=None, decimal_places=2)
