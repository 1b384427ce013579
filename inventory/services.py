"""Writes of the catalog and the stock ledger.

Every stock change in Stockroom, from an admin adjustment to an order, goes
through :func:`stock_move`: it locks the products' rows in id order, applies
the pure ledger rule, updates the stock and appends the movements.
"""

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any

import orjson
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from config.db import bulk
from config.db.prepared import Prepared
from config.domain_errors import Problem
from config.platform import read_cache
from inventory import selectors
from inventory.domain.alerts import stock_low_crossings
from inventory.domain.ledger import MAX_STOCK, StockChange, apply_changes
from inventory.errors import ProductRejected
from inventory.models import Product, StockMovement
from inventory.webhooks import stock_low_emit

# The read cache's namespace for product pages: every write below marks it
# changed, so no process serves a product page from before the write.
CATALOG = "catalog"
CATALOG_TTL = 300


class Deletion(Enum):
    DELETED = "deleted"
    DEACTIVATED = "deactivated"


def _sku_taken(sku: str, *, exclude_id: int | None = None) -> bool:
    same_sku = Product.objects.filter(sku__iexact=sku)
    return (same_sku if exclude_id is None else same_sku.exclude(id=exclude_id)).exists()


def _sku_problem() -> ProductRejected:
    return ProductRejected(Problem("unique", "A product with this sku already exists.", "sku"))


LOCKED_FIELDS = ("id", "sku", "name", "price", "is_active", "stock", "low_stock_threshold")


@cache
def _locking() -> Prepared[Product]:
    """Lock the named products in id order and read their stock (and what an
    order snapshots of them): one prepared query, whatever the number of ids."""
    return Prepared(
        lambda ids: Product.objects.select_for_update().filter(id__in=ids).order_by("id").values_list(*LOCKED_FIELDS)
    )


def products_lock(product_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Lock the named product rows (``SELECT … FOR UPDATE``, in id order, so
    two transactions never deadlock) and return them by id, stock included.
    Ids that name no product are left out. The caller holds the transaction;
    what it reads stays true until it commits."""
    ids = sorted(set(product_ids))
    return {row["id"]: row for row in _locking().values(ids=ids)} if ids else {}


@transaction.atomic
def stock_move(
    *,
    changes: Sequence[StockChange],
    reason: str,
    created_by_id: int | None,
    order_id: int | None = None,
) -> list[StockMovement]:
    """Apply signed stock changes to one or more products, all or nothing.

    Locks every named product row (:func:`products_lock`), then
    :func:`stock_apply_locked`. Joins the caller's transaction when there is one.
    """
    return stock_apply_locked(
        locked=products_lock(c.product_id for c in changes),
        changes=changes,
        reason=reason,
        created_by_id=created_by_id,
        order_id=order_id,
    )


def stock_apply_locked(
    *,
    locked: Mapping[int, Mapping[str, Any]],
    changes: Sequence[StockChange],
    reason: str,
    created_by_id: int | None,
    order_id: int | None = None,
) -> list[StockMovement]:
    """:func:`stock_move` for a caller that holds the transaction and has
    locked the products already (``locked``, from :func:`products_lock`).

    One UPDATE and one bulk INSERT whatever the number of changes, sent
    together (:func:`config.db.bulk.writes_gathered`) — with the caller's
    other writes when the caller has opened a unit of work, and the
    movements' keys are set when it sends them. Raises
    ``InsufficientStock`` naming every short change, before writing anything;
    the database's CHECK (stock >= 0) backs the rule up. Raises
    ``StockLimitExceeded`` for an increase the ledger rule refuses (above the
    change's ceiling or the column's maximum), so no overflow reaches the
    database. A product whose stock falls below its ``low_stock_threshold``
    (from at or above it) gets its ``product.stock_low`` webhook event.
    """
    ids = {c.product_id for c in changes}
    if missing := ids - locked.keys():
        raise Product.DoesNotExist(f"products {sorted(missing)} do not exist")
    before = {pid: locked[pid]["stock"] for pid in ids}
    applied = apply_changes(before, changes)
    net: dict[int, int] = {}
    for a in applied:
        net[a.product_id] = net.get(a.product_id, 0) + a.delta
    low = stock_low_crossings(
        before,
        {pid: before[pid] + delta for pid, delta in net.items()},
        {pid: locked[pid].get("low_stock_threshold", 0) for pid in ids},
    )
    read_cache.changed(CATALOG)
    with bulk.writes_gathered():
        bulk.execute(*_stock_add_sql(net))
        if low:  # rare: read the products back once their stock is written
            bulk.after_write(lambda: stock_low_emit(low))
        return bulk.insert(
            [
                StockMovement(
                    product_id=a.product_id,
                    delta=a.delta,
                    reason=reason,
                    order_id=order_id,
                    balance_after=a.balance_after,
                    created_by_id=created_by_id,
                )
                for a in applied
            ]
        )


def _stock_add_sql(net: Mapping[int, int]) -> tuple[str, list[Any]]:
    """The UPDATE of ``stock = stock + delta`` for each product, and
    ``updated_at`` (a stock change is a change of the product). Written as
    SQL because the ORM's Case/When for it costs more Python than the rest of
    an order. On PostgreSQL the deltas go as one JSON parameter, so the text
    and the parameters are the same whatever the number of products (as two
    arrays they cost more: psycopg dumps an array element by element)."""
    table = bulk.table(Product)
    pk, stock, updated_at = (bulk.column(Product, name) for name in ("id", "stock", "updated_at"))
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    if connection.vendor == "postgresql":
        sql = (
            f"UPDATE {table} SET {stock} = {table}.{stock} + d.delta, {updated_at} = %s"
            f" FROM json_to_recordset(%s::json) AS d(id bigint, delta integer) WHERE {table}.{pk} = d.id"
        )
        return sql, [now, orjson.dumps([{"id": pid, "delta": delta} for pid, delta in net.items()]).decode()]
    cases = " ".join("WHEN %s THEN %s" for _ in net)
    sql = (
        f"UPDATE {table} SET {stock} = {stock} + CASE {pk} {cases} END, {updated_at} = %s"
        f" WHERE {pk} IN ({', '.join('%s' for _ in net)})"
    )
    return sql, [*(v for pair in net.items() for v in pair), now, *net]


@transaction.atomic
def stock_adjust(*, product: Product, delta: int, reason: str, created_by_id: int | None) -> StockMovement:
    """A staff adjustment of one product's stock (a delivery, a stock-take, …).
    It may not take stock above ``MAX_STOCK`` (``StockLimitExceeded``), nor
    below zero (``InsufficientStock``)."""
    (movement,) = stock_move(
        changes=[StockChange(product.id, delta, attr="delta", ceiling=MAX_STOCK)],
        reason=reason,
        created_by_id=created_by_id,
    )
    product.refresh_from_db(fields=["stock", "updated_at"])
    return movement


@transaction.atomic
def product_create(
    *,
    sku: str,
    name: str,
    price: Decimal,
    description: str = "",
    stock: int = 0,
    low_stock_threshold: int = 0,
    is_active: bool = True,
    created_by_id: int | None,
) -> Product:
    """Create a product; its initial stock is the first line of its ledger
    (at most ``MAX_STOCK``: ``StockLimitExceeded`` on ``stock``)."""
    if _sku_taken(sku):
        raise _sku_problem()
    try:
        with transaction.atomic():
            product = Product.objects.create(
                sku=sku,
                name=name,
                description=description,
                price=price,
                low_stock_threshold=low_stock_threshold,
                is_active=is_active,
            )
    except IntegrityError:
        raise _sku_problem() from None
    if stock:
        stock_move(
            changes=[StockChange(product.id, stock, attr="stock", ceiling=MAX_STOCK)],
            reason="initial stock",
            created_by_id=created_by_id,
        )
        product.refresh_from_db(fields=["stock", "updated_at"])
    read_cache.changed(CATALOG)
    return product


@transaction.atomic
def product_update(*, product: Product, **fields: object) -> Product:
    """Change any of sku, name, description, price, low_stock_threshold,
    is_active. Never stock."""
    allowed = {"sku", "name", "description", "price", "low_stock_threshold", "is_active"}
    if unknown := set(fields) - allowed:
        raise ValueError(f"cannot update {sorted(unknown)}")
    if "sku" in fields and _sku_taken(str(fields["sku"]), exclude_id=product.id):
        raise _sku_problem()
    for name, value in fields.items():
        setattr(product, name, value)
    try:
        with transaction.atomic():
            product.save(update_fields=[*fields, "updated_at"])
    except IntegrityError:
        raise _sku_problem() from None
    read_cache.changed(CATALOG)
    return product


@transaction.atomic
def product_delete(*, product: Product) -> Deletion:
    """Delete a product never ordered, with its ledger; deactivate one that any
    order references, so order history stays whole.

    Locks the product row, so an order placed at the same moment either sees
    the product gone or is counted as a reference.
    """
    Product.objects.select_for_update().filter(id=product.id).exists()
    if selectors.product_ever_ordered(product_id=product.id):
        if product.is_active:
            product.is_active = False
            product.save(update_fields=["is_active", "updated_at"])
        read_cache.changed(CATALOG)
        return Deletion.DEACTIVATED
    product.delete()
    read_cache.changed(CATALOG)
    return Deletion.DELETED
