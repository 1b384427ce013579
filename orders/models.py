from decimal import Decimal
from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower, Round

from orders.domain.status import Status


class OrderStatus(models.TextChoices):
    PENDING = Status.PENDING.value, "Pending"
    PAID = Status.PAID.value, "Paid"
    SHIPPED = Status.SHIPPED.value, "Shipped"
    DELIVERED = Status.DELIVERED.value, "Delivered"
    CANCELLED = Status.CANCELLED.value, "Cancelled"
    EXPIRED = Status.EXPIRED.value, "Expired"
    RETURNED = Status.RETURNED.value, "Returned"


class Coupon(models.Model):
    code = models.CharField(max_length=64)
    percent_off = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    amount_off = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True)
    # Uses by orders that are not cancelled; changed only by orders.services.
    times_used = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(Lower("code"), name="orders_coupon_code_ci_unique"),
            models.CheckConstraint(
                condition=(
                    Q(percent_off__isnull=False, amount_off__isnull=True, percent_off__gt=0, percent_off__lte=100)
                )
                | (Q(percent_off__isnull=True, amount_off__isnull=False, amount_off__gt=0)),
                name="orders_coupon_exactly_one_discount",
            ),
            models.CheckConstraint(
                condition=Q(max_uses__isnull=True) | Q(times_used__lte=F("max_uses")),
                name="orders_coupon_uses_within_max",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True) | Q(valid_until__isnull=True) | Q(valid_from__lt=F("valid_until")),
                name="orders_coupon_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Order(models.Model):
    # Indexed by order_customer_created_idx, whose first column it is: a
    # one-column index of its own would cost every order an insert for nothing.
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    subtotal = models.DecimalField(max_digits=14, decimal_places=2)
    discount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    total = models.DecimalField(max_digits=14, decimal_places=2)
    coupon = models.ForeignKey(Coupon, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders")
    # The code as it was when the order was placed: the order keeps it even if
    # the coupon is later renamed or deleted.
    coupon_code = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 — null is "no coupon"
    # What is owed back for returned units (orders.domain.returns); no payment
    # provider is called: it is a record.
    refunded_total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    # When a pending order expires (null: never, or not pending): orders.domain.expiry.
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)  # indexed by order_created_idx
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(
                condition=Q(discount__gte=0) & Q(discount__lte=F("subtotal")),
                name="orders_order_discount_within_subtotal",
            ),
            # Rounded to cents: SQLite keeps decimals as floats, where
            # 4135.86 − 413.59 is 3722.2699999999995, not 3722.27 (found by the
            # fuzzer as a 500). On PostgreSQL's numeric it changes nothing.
            models.CheckConstraint(
                condition=Q(total=Round(F("subtotal") - F("discount"), 2)),
                name="orders_order_total_is_subtotal_less_discount",
            ),
            models.CheckConstraint(
                condition=Q(refunded_total__gte=0) & Q(refunded_total__lte=F("total")),
                name="orders_order_refunded_within_total",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-created_at", "-id"], name="order_customer_created_idx"),
            models.Index(fields=["status", "-created_at", "-id"], name="order_status_created_idx"),
            models.Index(fields=["-created_at", "-id"], name="order_created_idx"),
            # The expiry task's search for due orders: only pending orders have
            # an expires_at, so the index holds them alone, however many
            # orders there are.
            models.Index(fields=["expires_at"], condition=Q(expires_at__isnull=False), name="order_expiry_due_idx"),
        ]

    def __str__(self) -> str:
        return f"Order {self.pk}"


class OrderLine(models.Model):
    """A line keeps the sku, name and price of the moment of ordering."""

    # Indexed by orders_line_position_unique (order, position), which also
    # gives an order's lines in their order.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", db_index=False)
    position = models.PositiveSmallIntegerField()
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField()
    line_total = models.DecimalField(max_digits=14, decimal_places=2)
    returned_quantity = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("order", "position")
        constraints = [
            models.UniqueConstraint(fields=["order", "position"], name="orders_line_position_unique"),
            models.UniqueConstraint(fields=["order", "product"], name="orders_line_product_unique"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orders_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(returned_quantity__lte=F("quantity")), name="orders_line_returned_within_quantity"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"


class Return(models.Model):
    """Units of a delivered order that came back, and what they refund
    (orders.services.order_return_record)."""

    # Indexed by return_order_idx (order, created_at, id), whose first column it is.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="returns", db_index=False)
    refund_total = models.DecimalField(max_digits=14, decimal_places=2)
    reason = models.CharField(max_length=500, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("created_at", "id")
        indexes = [models.Index(fields=["order", "created_at", "id"], name="return_order_idx")]
        constraints = [models.CheckConstraint(condition=Q(refund_total__gte=0), name="orders_return_refund_positive")]

    def __str__(self) -> str:
        return f"Return {self.pk} of order {self.order_id}"


class ReturnLine(models.Model):
    # Indexed by orders_return_line_position_unique (return, position).
    order_return = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines", db_index=False)
    position = models.PositiveSmallIntegerField()
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    restock = models.BooleanField(default=True)
    refund_amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ("order_return", "position")
        constraints = [
            models.UniqueConstraint(fields=["order_return", "position"], name="orders_return_line_position_unique"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orders_return_line_quantity_positive"),
            models.CheckConstraint(condition=Q(refund_amount__gte=0), name="orders_return_line_refund_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_id}"


class OrderEvent(models.Model):
    """One line of an order's append-only timeline, written in the transaction
    of the change it records (orders.services)."""

    class Type(models.TextChoices):
        PLACED = "placed", "Placed"
        STATUS_CHANGED = "status_changed", "Status changed"
        RETURN_RECORDED = "return_recorded", "Return recorded"
        NOTE = "note", "Note"

    # Indexed by order_event_order_idx (order, created_at, id), whose first column it is.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events", db_index=False)
    type = models.CharField(max_length=32, choices=Type.choices)
    from_status = models.CharField(max_length=16, choices=OrderStatus.choices, null=True, blank=True)  # noqa: DJ001
    to_status = models.CharField(max_length=16, choices=OrderStatus.choices, null=True, blank=True)  # noqa: DJ001
    # Null when the system acted (an expiry), or the account is gone.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(null=True, blank=True)  # noqa: DJ001 — null for every event but a note
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("created_at", "id")
        indexes = [models.Index(fields=["order", "created_at", "id"], name="order_event_order_idx")]

    def __str__(self) -> str:
        return f"{self.get_type_display()} ({self.order_id})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:  # events get their key from the database: one that has it is written
            raise TypeError("An order's timeline is append-only: an event cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("An order's timeline is append-only: an event cannot be deleted.")


class IdempotencyKey(models.Model):
    """A replayable first response to ``POST /orders/`` for one user and key.

    The row is inserted in the same transaction as the order it answers for:
    a twin request blocks on the UNIQUE index until the first commits (then
    replays it) or rolls back (then the key is free again).
    """

    # Indexed by orders_idempotency_user_key_unique (user, key), whose first column it is.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="orders_idempotency_user_key_unique")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"
