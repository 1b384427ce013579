"""The HTTP contract of the catalog and the ledger: input and output, no logic."""

from decimal import Decimal
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.api.serializers import InputSerializer
from inventory.domain.bounds import MAX_PRICE
from inventory.domain.ledger import MAX_STOCK
from inventory.models import Product, StockMovement

MAX_STOCK_DELTA = 1_000_000
SKU_REGEX = r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z"


def _price_field(**kwargs: Any) -> serializers.DecimalField:
    # As many digits as the bound has (8: six before the point), so that the
    # schema's pattern shows the bound, not just the column's width.
    return serializers.DecimalField(
        max_digits=len(MAX_PRICE.as_tuple().digits),
        decimal_places=2,
        min_value=Decimal("0"),
        max_value=MAX_PRICE,
        help_text=f"At most {MAX_PRICE}, so that the largest order fits the order's totals.",
        **kwargs,
    )


def _threshold_field(**kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_STOCK,
        help_text="Stock falling from at or above this to below it sends the product.stock_low webhook; 0: never.",
        **kwargs,
    )


class ProductSerializer(serializers.ModelSerializer[Product]):
    currency = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = (
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
        )
        read_only_fields = fields

    @extend_schema_field(serializers.CharField())
    def get_currency(self, obj: Product) -> str:
        return settings.CURRENCY


class ProductCreateInputSerializer(InputSerializer):
    sku = serializers.RegexField(SKU_REGEX, max_length=64)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)
    price = _price_field()
    stock = serializers.IntegerField(required=False, default=0, min_value=0, max_value=MAX_STOCK_DELTA)
    low_stock_threshold = _threshold_field(default=0)
    is_active = serializers.BooleanField(required=False, default=True)


class ProductUpdateInputSerializer(InputSerializer):
    """PUT needs sku, name and price; PATCH (partial) any of the fields."""

    sku = serializers.RegexField(SKU_REGEX, max_length=64)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    price = _price_field()
    low_stock_threshold = _threshold_field()
    is_active = serializers.BooleanField(required=False)


class StockAdjustmentInputSerializer(InputSerializer):
    delta = serializers.IntegerField(min_value=-MAX_STOCK_DELTA, max_value=MAX_STOCK_DELTA)
    reason = serializers.CharField(max_length=200)

    def validate_delta(self, value: int) -> int:
        if value == 0:
            raise serializers.ValidationError("Must be a non-zero integer.", code="zero")
        return value


class StockMovementSerializer(serializers.ModelSerializer[StockMovement]):
    class Meta:
        model = StockMovement
        fields = ("id", "delta", "reason", "order_id", "balance_after", "created_at", "created_by")
        read_only_fields = fields


class StockAdjustmentSerializer(serializers.Serializer):
    product = ProductSerializer(read_only=True)
    movement = StockMovementSerializer(read_only=True)
