"""The catalog's numeric bounds, pure: chosen so that every number the
catalog hands on fits the column it ends up in."""

from decimal import Decimal

# Product.price is NUMERIC(12, 2), but a price is bounded lower so that the
# largest order (100 lines × 1,000 units, orders.domain.placement) fits the
# order's NUMERIC(14, 2) totals: 999,999.99 × 100,000 = 99,999,999,000.00.
# Products priced above it before the bound existed are kept as they are and
# reported by the system check inventory.W001 (inventory/checks.py); an order
# whose totals they would overflow is refused by orders.domain.pricing.
MAX_PRICE = Decimal("999999.99")
