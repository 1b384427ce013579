"""Reads of orders and coupons, limited to what the caller may see."""

from django.db.models import Count, QuerySet, Sum

from orders.models import Coupon, Order, OrderStatus
from users.models import User


def order_list(*, user: User) -> QuerySet[Order]:
    """A customer's own orders; staff see everyone's. Customer and lines are
    fetched with the page (two queries whatever the page size)."""
    qs = Order.objects.select_related("customer").prefetch_related("lines")
    return qs if user.is_staff else qs.filter(customer=user)


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
