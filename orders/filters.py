"""Order list filters: ``?status=``, ``?created_after=``, ``?created_before=``, ``?customer=`` (staff)."""

from django_filters import rest_framework as filters

from orders.models import Order, OrderStatus


class OrderFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=OrderStatus.choices)
    created_after = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    customer = filters.NumberFilter(field_name="customer_id", help_text="Staff: one customer's orders, by user id.")

    class Meta:
        model = Order
        fields: list[str] = []
