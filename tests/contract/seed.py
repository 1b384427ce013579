"""The data the fuzzer starts from, made inside the server's own environment:
``python manage.py shell -c "from tests.contract.seed import main; main()"``.

Prints one JSON line: the seeded ids and an access token for each role.
"""

import json
from decimal import Decimal

from django.db import transaction
from rest_framework_simplejwt.tokens import RefreshToken

from inventory import services as inventory_services
from orders import services as order_services
from orders.domain.placement import DraftLine, OrderDraft
from users.models import User

PASSWORD = "fuzz-correct-horse-battery"


@transaction.atomic
def seed() -> dict[str, object]:
    staff = User.objects.create_user("fuzz-staff@example.com", "fuzz-staff", PASSWORD, is_staff=True)
    customer = User.objects.create_user("fuzz-customer@example.com", "fuzz-customer", PASSWORD)
    products = [
        inventory_services.product_create(
            sku=f"FUZZ-{n}", name=f"Fuzz product {n}", price=Decimal(price), stock=stock, created_by_id=staff.id
        )
        for n, (price, stock) in enumerate([("9.99", 1000), ("0.50", 100_000), ("120.00", 5), ("3.00", 0)], 1)
    ]
    coupon = order_services.coupon_create(code="FUZZ10", percent_off=Decimal("10"), max_uses=1_000_000)
    order = order_services.order_place(
        customer=customer, draft=OrderDraft((DraftLine(products[0].id, 2), DraftLine(products[1].id, 1)), "FUZZ10")
    ).order
    return {
        "staff": {"id": staff.id, "token": str(RefreshToken.for_user(staff).access_token)},
        "customer": {"id": customer.id, "token": str(RefreshToken.for_user(customer).access_token)},
        "products": [p.id for p in products],
        "coupon": coupon.id,
        "order": order.id,
    }


def main() -> None:
    print("SEED " + json.dumps(seed()))
