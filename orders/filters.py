"""Order list filters: ``?status=``, ``?created_after=``, ``?created_before=``, ``?customer=`` (staff)."""

from django import forms
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field

from orders.models import Order, OrderStatus

MAX_ID = 2**63 - 1
CUSTOMER_HELP = "Staff: one customer's orders, by user id."


@extend_schema_field(
    {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID, "description": CUSTOMER_HELP}
)
class CustomerIdFilter(filters.NumberFilter):
    """A whole-number user id within the database's range. A decimal (``1.5``)
    or an id beyond a bigint is a 400, not a truncated or crashing query."""

    field_class = forms.IntegerField


class OrderFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=OrderStatus.choices)
    created_after = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    customer = CustomerIdFilter(field_name="customer_id", min_value=1, max_value=MAX_ID, help_text=CUSTOMER_HELP)

    class Meta:
        model = Order
        fields: list[str] = []
