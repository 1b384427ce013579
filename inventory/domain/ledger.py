"""The stock ledger's rule, pure: apply signed changes to balances.

Stock never drops below zero, nor rises above what its column holds; every
change becomes a movement whose ``balance_after`` is the product's stock once
it is applied, so the sum of a product's deltas always equals its stock.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from config.domain_errors import Problem
from inventory.errors import InsufficientStock, StockLimitExceeded

# Product.stock and StockMovement.balance_after are 32-bit integer columns.
STOCK_COLUMN_MAX = 2**31 - 1
# The most stock staff may bring a product to (an adjustment, the initial
# stock). Well below the column's maximum, so that the units cancelled orders
# (and returns) give back always fit: they may take stock above this bound,
# never above the column's.
MAX_STOCK = 1_000_000_000


@dataclass(frozen=True, slots=True)
class StockChange:
    product_id: int
    delta: int
    attr: str | None = None  # where a refusal is reported, e.g. "lines.0.quantity"
    # The most stock an increase may leave (MAX_STOCK for staff's changes); an
    # increase never goes above STOCK_COLUMN_MAX whatever this says.
    ceiling: int = STOCK_COLUMN_MAX


@dataclass(frozen=True, slots=True)
class AppliedChange:
    product_id: int
    delta: int
    balance_after: int


def apply_changes(balances: Mapping[int, int], changes: Sequence[StockChange]) -> tuple[AppliedChange, ...]:
    """Apply ``changes`` in order to ``balances`` (product id → stock).

    All or nothing: if any change would leave a product below zero, raise
    :class:`InsufficientStock` naming every short change, and apply none;
    otherwise, if any increase would leave a product above its ``ceiling``
    (or the column's maximum), raise :class:`StockLimitExceeded` naming every
    such change. A decrease is never refused for the ceiling: stock already
    above it may always come down.
    """
    running = dict(balances)
    applied: list[AppliedChange] = []
    problems: list[Problem] = []
    over: list[Problem] = []
    for change in changes:
        if change.delta == 0:
            raise ValueError("a stock change must not be zero")
        if change.product_id not in running:
            raise KeyError(change.product_id)
        after = running[change.product_id] + change.delta
        if after < 0:
            available = running[change.product_id]
            problems.append(
                Problem(
                    InsufficientStock.code,
                    f"Only {available} unit(s) of product {change.product_id} in stock; {-change.delta} requested.",
                    change.attr,
                )
            )
            continue
        if change.delta > 0 and after > (ceiling := min(change.ceiling, STOCK_COLUMN_MAX)):
            over.append(
                Problem(
                    StockLimitExceeded.code,
                    f"Stock of product {change.product_id} would be {after}; it may be at most {ceiling}.",
                    change.attr,
                )
            )
            continue
        running[change.product_id] = after
        applied.append(AppliedChange(change.product_id, change.delta, after))
    if problems:
        raise InsufficientStock(tuple(problems))
    if over:
        raise StockLimitExceeded(tuple(over))
    return tuple(applied)
