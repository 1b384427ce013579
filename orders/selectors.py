"""Reads of orders and coupons, limited to what the caller may see."""

from typing import Any

from django.db.models import Count, F, QuerySet, Sum
from django.http import Http404

from config.db.prepared import Prepared
from orders.models import Coupon, Order, OrderEvent, OrderStatus, Return
from users.models import User

# The columns of an order row and of its line rows, as
# orders.serializers.order_representation reads them.
ORDER_COLUMNS = (
    "id", "status", "customer_id", "customer__email", "customer__username", "subtotal", "discount", "total",
    "refunded_total", "coupon_code", "expires_at", "created_at", "updated_at",
)  # fmt: skip
LINE_COLUMNS = ("product_id", "sku", "name", "quantity", "unit_price", "line_total", "returned_quantity")


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


def order_events(*, user: User, order_id: int) -> list[OrderEvent]:
    """The timeline of one order the user may see, oldest first, in one query:
    staff see every event, the customer all but staff's notes. Http404 if
    the user may not see the order: every order has its ``placed`` event, so
    a visible order's timeline is never empty."""
    events = OrderEvent.objects.filter(order_id=order_id).select_related("actor").order_by("created_at", "id")
    if not user.is_staff:
        events = events.filter(order__customer_id=user.id).exclude(type=OrderEvent.Type.NOTE)
    found = list(events)
    if not found:
        raise Http404("No Order matches the given query.")
    return found


def order_returns(*, user: User, order_id: int) -> list[Return]:
    """The returns of one order the user may see (their own; staff: any),
    oldest first, with their lines: two queries (and one more to tell an
    order with no returns from one the user may not see). Http404 if the
    user may not see the order."""
    returns = Return.objects.filter(order_id=order_id).select_related("created_by").prefetch_related("lines")
    if not user.is_staff:
        returns = returns.filter(order__customer_id=user.id)
    found = list(returns.order_by("created_at", "id"))
    if not found:
        visible = Order.objects.filter(id=order_id)
        if not (visible if user.is_staff else visible.filter(customer_id=user.id)).exists():
            raise Http404("No Order matches the given query.")
    return found


def coupon_list() -> QuerySet[Coupon]:
    return Coupon.objects.order_by("-created_at", "-id")


def top_customers(*, limit: int) -> list[dict[str, object]]:
    """The biggest spenders over orders that are not cancelled or expired,
    refunds subtracted: one aggregate query."""
    rows = (
        Order.objects.exclude(status__in=(OrderStatus.CANCELLED, OrderStatus.EXPIRED))
        .values("customer_id", "customer__email", "customer__username")
        .annotate(order_count=Count("id"), total_spent=Sum(F("total") - F("refunded_total")))
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
