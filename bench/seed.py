"""Load the benchmark's data set and write the files the wrk script reads.

2,000 products (stock 1,000,000), 50 customers, 200 orders of 3 lines, made
through the same services as the API. Idempotent: an existing data set is
reused. Tokens are minted directly (no password hashing: that is not what the
workloads measure). Run with the benchmark's DATABASE_URL:

    python bench/seed.py OUT_DIR
"""

import os
import random
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from inventory.models import Product  # noqa: E402
from inventory.services import product_create  # noqa: E402
from orders.domain.placement import DraftLine, OrderDraft  # noqa: E402
from orders.models import Order  # noqa: E402
from orders.services import order_place  # noqa: E402
from users.models import User  # noqa: E402

N_PRODUCTS, N_CUSTOMERS, N_ORDERS = 2000, 50, 200


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(42)
    existing = set(Product.objects.filter(sku__startswith="BENCH-").values_list("sku", flat=True))
    for n in range(1, N_PRODUCTS + 1):
        sku = f"BENCH-{n:05d}"
        if sku not in existing:
            product_create(
                sku=sku, name=f"Bench product {n}", price=Decimal(rng.randint(100, 10_000)) / 100,
                stock=1_000_000, created_by_id=None,
            )  # fmt: skip
    product_ids = list(Product.objects.filter(sku__startswith="BENCH-").order_by("id").values_list("id", flat=True))
    customers = []
    for n in range(1, N_CUSTOMERS + 1):
        email = f"bench-customer-{n}@example.com"
        user = User.objects.filter(email=email).first() or User.objects.create_user(email, f"bench-customer-{n}", None)
        customers.append(user)
    bench_orders = Order.objects.filter(customer__in=customers)
    for n in range(bench_orders.count(), N_ORDERS):
        draft = OrderDraft(tuple(DraftLine(pid, 1) for pid in rng.sample(product_ids, 3)))
        order_place(customer=customers[n % N_CUSTOMERS], draft=draft)
    tokens = {u.id: str(AccessToken.for_user(u)) for u in customers}
    (out / "products.txt").write_text("\n".join(map(str, product_ids)) + "\n")
    (out / "tokens.txt").write_text("\n".join(tokens.values()) + "\n")
    (out / "orders.tsv").write_text(
        "".join(f"{oid}\t{tokens[cid]}\n" for oid, cid in bench_orders.order_by("id").values_list("id", "customer_id"))
    )
    print(f"seeded {len(product_ids)} products, {len(customers)} customers, {bench_orders.count()} orders")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
