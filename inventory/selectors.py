"""Reads of the catalog and the ledger, already limited to what the caller may see."""

from django.db.models import QuerySet

from inventory.models import Product, StockMovement


def product_list(*, include_inactive: bool) -> QuerySet[Product]:
    """Active products for everyone; staff (``include_inactive``) see all."""
    qs = Product.objects.all()
    return qs if include_inactive else qs.filter(is_active=True)


def movement_list(*, product: Product) -> QuerySet[StockMovement]:
    """A product's ledger, newest first."""
    return StockMovement.objects.filter(product=product).order_by("-created_at", "-id")


def product_ever_ordered(*, product_id: int) -> bool:
    """True once any order has moved this product's stock."""
    return StockMovement.objects.filter(product_id=product_id, order_id__isnull=False).exists()


def ledger_mismatches() -> list[tuple[Product, int]]:
    """Every product whose stock differs from the sum of its ledger, with that sum."""
    from django.db.models import IntegerField, OuterRef, Subquery, Sum, Value
    from django.db.models.functions import Coalesce

    ledger_sum = (
        StockMovement.objects.filter(product=OuterRef("pk"))
        .values("product")
        .annotate(total=Sum("delta"))
        .values("total")
    )
    products = Product.objects.annotate(
        ledger=Coalesce(Subquery(ledger_sum, output_field=IntegerField()), Value(0))
    ).order_by("id")
    return [(p, p.ledger) for p in products.iterator() if p.ledger != p.stock]
