from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower


class Product(models.Model):
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    price = models.DecimalField(max_digits=12, decimal_places=2)
    # Units that can be ordered now. Changed only by inventory.services.stock_move.
    stock = models.IntegerField(default=0)
    # Stock falling from at or above this to below it sends the product.stock_low
    # webhook (inventory.services.stock_apply_locked); 0: no alert.
    low_stock_threshold = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(Lower("sku"), name="inventory_product_sku_ci_unique"),
            models.CheckConstraint(condition=Q(stock__gte=0), name="inventory_product_stock_non_negative"),
            models.CheckConstraint(condition=Q(price__gte=0), name="inventory_product_price_non_negative"),
        ]
        indexes = [
            models.Index(fields=["is_active", "-created_at", "-id"], name="product_active_created_idx"),
            models.Index(fields=["price"], name="product_price_idx"),
            models.Index(fields=["name"], name="product_name_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} — {self.name}"


class StockMovementQuerySet(models.QuerySet["StockMovement"]):
    """Refuses bulk rewrites of the ledger. A product's ledger still goes with
    it when a never-ordered product is deleted: the cascade deletes rows
    directly, not through this queryset."""

    def update(self, **kwargs: Any) -> int:
        # Deleting a user comes through here to forget who made a movement
        # (created_by is SET_NULL); the quantities themselves never change.
        if kwargs and kwargs.keys() <= {"created_by", "created_by_id"} and all(v is None for v in kwargs.values()):
            return super().update(**kwargs)
        raise TypeError("The stock ledger is append-only: movements cannot be changed.")

    def delete(self) -> NoReturn:
        raise TypeError("The stock ledger is append-only: movements cannot be deleted.")


class StockMovement(models.Model):
    """One line of the append-only stock ledger."""

    # Indexed by movement_product_idx (product, -id), whose first column it is.
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="movements", db_index=False)
    delta = models.IntegerField()
    reason = models.CharField(max_length=200)
    # The order that caused it (placing or cancelling), by id: inventory does not
    # depend on the orders app.
    order_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    balance_after = models.IntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = StockMovementQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(condition=~Q(delta=0), name="inventory_movement_delta_non_zero"),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="inventory_movement_balance_non_negative"),
        ]
        indexes = [models.Index(fields=["product", "-id"], name="movement_product_idx")]

    def __str__(self) -> str:
        return f"{self.delta:+d} {self.product_id} ({self.reason})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise TypeError("The stock ledger is append-only: a movement cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("The stock ledger is append-only: a movement cannot be deleted.")
