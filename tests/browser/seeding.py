"""What the browser journeys work on, made through the services: a superuser
on staff, a customer (registered, so the outbox holds a welcome email), two
products and an order for them.

Every name carries the test's tag, so journeys never meet each other's data
on a database that outlives a test (the SQLite file the server uses).

On PostgreSQL the test process calls :func:`seed` against the test database
the server also uses; on SQLite the server has its own file, so the test runs
``python -m tests.browser.seeding TAG OUT.json`` against it and reads the file
(not stdout: the console email backend prints the welcome email there).
"""

import json
import os
import sys
from decimal import Decimal
from typing import Any

PASSWORD = "browser-journey-passphrase-7"


def seed(tag: str) -> dict[str, Any]:
    from inventory import services as inventory_services
    from orders import services as order_services
    from orders.domain.placement import DraftLine, OrderDraft
    from users import services as user_services
    from users.models import User

    tag = tag.lower()
    staff = User.objects.create_superuser(
        f"staff-{tag}@stockroom.test", f"staff-{tag}", PASSWORD, full_name=f"Staff {tag}"
    )
    customer = user_services.user_register(
        email=f"customer-{tag}@example.com", username=f"customer-{tag}", password=PASSWORD, full_name=f"Customer {tag}"
    )
    mug = inventory_services.product_create(
        sku=f"MUG-{tag}".upper(), name=f"Enamel mug {tag}", price=Decimal("12.50"), stock=40, created_by_id=staff.id
    )
    cap = inventory_services.product_create(
        sku=f"CAP-{tag}".upper(), name=f"Navy cap {tag}", price=Decimal("14.00"), stock=10, created_by_id=staff.id
    )
    order = order_services.order_place(
        customer=customer, draft=OrderDraft((DraftLine(mug.id, 3), DraftLine(cap.id, 2)), None)
    ).order
    return {
        "password": PASSWORD,
        "staff": {"id": staff.id, "email": staff.email},
        "customer": {"id": customer.id, "email": customer.email},
        "products": {
            "mug": {"id": mug.id, "sku": mug.sku, "name": mug.name, "stock_before_order": 40},
            "cap": {"id": cap.id, "sku": cap.sku, "name": cap.name, "stock_before_order": 10},
        },
        "order": {"id": order.id, "lines": [("mug", 3), ("cap", 2)], "total": str(order.total)},
    }


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    with open(sys.argv[2], "w") as out:
        json.dump(seed(sys.argv[1]), out)
