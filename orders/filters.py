"""Order list filters: ``?status=``, ``?created_after=``, ``?created_before=``, ``?customer=`` (staff)."""

from datetime import UTC, datetime
from typing import Any

from django import forms
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
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

    field_class = forms.IntegerField  # type: ignore[assignment]  # the stubs pin NumberFilter's to DecimalField

    def get_max_validator(self) -> None:
        return None  # max_value bounds it; django-filter's 1e50 would only repeat the error


class _UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 datetime, read as UTC. One whose UTC time falls outside
    years 1 to 9999 (``0001-01-01T00:00+05:00``) is a 400, not an
    OverflowError in the database adapter and a 500."""

    default_error_messages = {"overflow": "Datetime value out of range."}

    def to_python(self, value: Any) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError(self.error_messages["overflow"], code="overflow") from None


class UtcIsoDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = _UtcIsoDateTimeField


class OrderFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=OrderStatus.choices)
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    customer = CustomerIdFilter(field_name="customer_id", min_value=1, max_value=MAX_ID, help_text=CUSTOMER_HELP)

    class Meta:
        model = Order
        fields: list[str] = []
