"""Product list filters: ``?search=``, ``?in_stock=``, price range, ordering."""

from django.db.models import Q, QuerySet
from django_filters import rest_framework as filters

from inventory.models import Product

ORDERINGS = {
    "price": ("price", "id"),
    "-price": ("-price", "-id"),
    "name": ("name", "id"),
    "-created_at": ("-created_at", "-id"),
}


class ProductFilter(filters.FilterSet):
    search = filters.CharFilter(method="filter_search", max_length=200, help_text="Part of the name or sku.")
    in_stock = filters.BooleanFilter(method="filter_in_stock", help_text="true: only products with stock > 0.")
    min_price = filters.NumberFilter(field_name="price", lookup_expr="gte")
    max_price = filters.NumberFilter(field_name="price", lookup_expr="lte")
    is_active = filters.BooleanFilter(help_text="Staff only: active or inactive products.")
    ordering = filters.ChoiceFilter(method="filter_ordering", choices=[(k, k) for k in ORDERINGS], empty_label=None)

    class Meta:
        model = Product
        fields: list[str] = []

    def filter_search(self, qs: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        return qs.filter(Q(name__icontains=value) | Q(sku__icontains=value)) if value else qs

    def filter_in_stock(self, qs: QuerySet[Product], name: str, value: bool | None) -> QuerySet[Product]:
        if value is None:
            return qs
        return qs.filter(stock__gt=0) if value else qs.filter(stock=0)

    def filter_ordering(self, qs: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        return qs.order_by(*ORDERINGS[value]) if value else qs
