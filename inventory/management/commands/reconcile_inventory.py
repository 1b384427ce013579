"""Check every product's stock against the sum of its ledger.

Exit status 0 when every product balances, 1 with a report of each mismatch.
"""

import sys
from typing import Any

from django.core.management.base import BaseCommand
from django.db.models import Count, Q

from inventory.models import Product, StockMovement
from inventory.selectors import ledger_mismatches


class Command(BaseCommand):
    help = "Check every product's stock against its ledger; exit 1 and report any mismatch."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = StockMovement.objects.aggregate(
            total=Count("id"), from_orders=Count("id", filter=Q(order_id__isnull=False))
        )
        products = Product.objects.count()
        mismatches = ledger_mismatches()
        self.stdout.write(
            f"Checked {products} product(s) and {counts['total']} movement(s) ({counts['from_orders']} from orders)."
        )
        if not mismatches:
            self.stdout.write(self.style.SUCCESS("Every product's stock equals the sum of its ledger."))
            return
        self.stdout.write(self.style.ERROR(f"{len(mismatches)} product(s) do not balance:"))
        for product, ledger in mismatches:
            self.stdout.write(
                f"  product {product.id} ({product.sku}): stock {product.stock}, ledger sum {ledger}, "
                f"difference {product.stock - ledger:+d}"
            )
        sys.exit(1)
