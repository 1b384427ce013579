"""System checks of the catalog's rows, run with the database: by
``manage.py check --database default`` and by ``migrate``.

A product priced above the bound (``MAX_PRICE``, from before the bound
existed) is reported, never changed: its price is the business's to decide.
Until it is lowered, an order whose totals it would overflow is refused
(orders.domain.pricing) instead of failing in the database.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Tags, register
from django.core.checks import Warning as CheckWarning
from django.db import connections

from inventory.domain.bounds import MAX_PRICE

PRICE_ABOVE_BOUND = "inventory.W001"
SHOWN = 10  # skus named in the message; the count covers the rest


@register(Tags.database)
def check_prices_within_bound(
    app_configs: Sequence[AppConfig] | None = None, databases: Iterable[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    from inventory.models import Product

    if app_configs is not None and Product._meta.app_config not in app_configs:
        return []
    messages: list[CheckMessage] = []
    for alias in databases or ():
        if Product._meta.db_table not in connections[alias].introspection.table_names():
            continue  # not migrated yet: nothing to report
        over = Product.objects.using(alias).filter(price__gt=MAX_PRICE)
        skus = list(over.order_by("id").values_list("sku", flat=True)[: SHOWN + 1])
        if not skus:
            continue
        count = over.count() if len(skus) > SHOWN else len(skus)
        named = ", ".join(skus[:SHOWN]) + (", …" if count > SHOWN else "")
        messages.append(
            CheckWarning(
                f"{count} product(s) in database '{alias}' priced above {MAX_PRICE}, the most a price may be: {named}.",
                hint=(
                    "Their prices were kept as they are. An order whose line total or subtotal would not fit "
                    "is refused (400 out_of_range); lower these prices in the admin or with "
                    "PATCH /api/v1/products/{id}/."
                ),
                obj=Product,
                id=PRICE_ABOVE_BOUND,
            )
        )
    return messages
