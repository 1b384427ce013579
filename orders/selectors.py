"""Reads of orders and coupons, limited to what the caller may see."""

from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.http import Http404

from config.db.prepared import Prepared
from orders.models import Coupon, Order, OrderStatus
from users.models import User

# The columns of an order row and of its line rows, as
# orders.serializers.order_representation reads them.
ORDER_COLUMNS = (
    "id", "status", "customer_id", "customer__email", "customer__username", "subtotal", "discount", "total",
    "coupon_code", "created_at", "updated_at",
)  # fmt: skip
LINE_COLUMNS = ("product_id", "sku", "name", "quantity", "unit_price", "line_total")


def order_list(*, user: User) -> QuerySet[Order]:
    """A customer's own orders; staff see everyone's. Customer and lines are
    fetched with the page (two queries whatever the page size)."""
    qs = Order.objects.select_related("customer").prefetch_related("lines")
    return qs if user.is_staff else qs.filter(customer=user)


# An order with its lines in one query: one row per line (LEFT JOIN, so an
# order without lines is still one row).
_ORDER_WITH_LINES = (*ORDER_COLUMNS, *(f"lines__{c}" for c in LINE_COLUMNS))
_any_order = Prepared(lambda id: Order.objects.filter(id=id).order_by("lines__position").values(*_ORDER_WITH_LINES))
_own_order = Prepared(
    lambda id, customer_id: (
        Order.objects.filter(id=id, customer_id=customer_id).order_by("lines__position").values(*_ORDER_WITH_LINES)
    )
)


def order_rows(*, user: User, order_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One order the user may see (their own; staff: any) and its lines, as
    rows: one prepared query, no model instances. Http404 if there is none."""
    found = _any_order.values(id=order_id) if user.is_staff else _own_order.values(id=order_id, customer_id=user.id)
    if not found:
        raise Http404("No Order matches the given query.")
    order = {c: found[0][c] for c in ORDER_COLUMNS}
    lines = [{c: row[f"lines__{c}"] for c in LINE_COLUMNS} for row in found if row["lines__product_id"] is not None]
    return order, lines


def coupon_list() -> QuerySet[Coupon]:
    return Coupon.objects.order_by("-created_at", "-id")


def top_customers(*, limit: int) -> list[dict[str, object]]:
    """The biggest spenders over orders that are not cancelled: one aggregate query."""
    rows = (
        Order.objects.exclude(status=OrderStatus.CANCELLED)
        .values("customer_id", "customer__email", "customer__username")
        .annotate(order_count=Count("id"), total_spent=Sum("total"))
        .order_by("-total_spent", "customer_id")[:limit]
    )
    return [
        {
            "customer": {"id": r["customer_id"], "email": r["customer__email"], "username": r["customer__username"]},
            "order_count": r["order_count"],
            "total_spent": r["total_spent"],
        }
        for r in rows
    ]
