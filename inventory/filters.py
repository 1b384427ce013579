"""Product list filters: ``?search=``, ``?in_stock=``, price range, ordering."""

from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django_filters import rest_framework as filters

from inventory.models import Product

_price = Product._meta.get_field("price")
PRICE_DIGITS = {"max_digits": _price.max_digits, "decimal_places": _price.decimal_places}

ORDERINGS = {
    "price": ("price", "id"),
    "-price": ("-price", "-id"),
    "name": ("name", "id"),
    "-created_at": ("-created_at", "-id"),
}


class _StrictBooleanField(forms.NullBooleanField):
    """``true``/``false`` (or ``1``/``0``); anything else is invalid, not
    silently read as "no filter" as django-filter's widget would."""

    widget = forms.TextInput

    def to_python(self, value: Any) -> bool | None:  # type: ignore[override]  # NullBooleanField's, as in django-stubs
        if value in (None, ""):
            return None
        text = str(value).lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise forms.ValidationError("Must be true or false.", code="invalid")


class StrictBooleanFilter(filters.BooleanFilter):
    field_class = _StrictBooleanField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)


class PriceFilter(filters.NumberFilter):
    """A price bound with as many digits and places as the price column: an
    absurd value (1e1001, 1e-1001, sixty digits) is one 400 on its parameter,
    not a query that overflows or an empty page; NaN and ±Infinity are
    refused as not numbers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**PRICE_DIGITS, **kwargs})

    def get_max_validator(self) -> None:
        return None  # the digits bound it; django-filter's 1e50 would only repeat the error


class ProductFilter(filters.FilterSet):
    search = filters.CharFilter(method="filter_search", max_length=200, help_text="Part of the name or sku.")
    in_stock = StrictBooleanFilter(
        method="filter_in_stock", help_text="true: only products with stock > 0; false: only those with none."
    )
    min_price = PriceFilter(field_name="price", lookup_expr="gte", help_text="Only products priced at least this.")
    max_price = PriceFilter(field_name="price", lookup_expr="lte", help_text="Only products priced at most this.")
    is_active = StrictBooleanFilter(help_text="Staff only: active or inactive products.")
    ordering = filters.ChoiceFilter(method="filter_ordering", choices=[(k, k) for k in ORDERINGS], empty_label=None)

    class Meta:
        model = Product
        fields: list[str] = []

    def filter_search(self, qs: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        return qs.filter(Q(name__icontains=value) | Q(sku__icontains=value)) if value else qs

    def filter_in_stock(self, qs: QuerySet[Product], name: str, value: bool) -> QuerySet[Product]:
        # django-filter calls this only with a value: true or false.
        return qs.filter(stock__gt=0) if value else qs.filter(stock=0)

    def filter_ordering(self, qs: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        return qs.order_by(*ORDERINGS[value]) if value else qs
