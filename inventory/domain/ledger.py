"""The stock ledger's rule, pure: apply signed changes to balances.

Stock never drops below zero; every change becomes a movement whose
``balance_after`` is the product's stock once it is applied, so the sum of a
product's deltas always equals its stock.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from config.domain_errors import Problem
from inventory.errors import InsufficientStock


@dataclass(frozen=True, slots=True)
class StockChange:
    product_id: int
    delta: int
    attr: str | None = None  # where a shortage is reported, e.g. "lines.0.quantity"


@dataclass(frozen=True, slots=True)
class AppliedChange:
    product_id: int
    delta: int
    balance_after: int


def apply_changes(balances: Mapping[int, int], changes: Sequence[StockChange]) -> tuple[AppliedChange, ...]:
    """Apply ``changes`` in order to ``balances`` (product id → stock).

    All or nothing: if any change would leave a product below zero, raise
    :class:`InsufficientStock` naming every short change, and apply none.
    """
    running = dict(balances)
    applied: list[AppliedChange] = []
    problems: list[Problem] = []
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
        running[change.product_id] = after
        applied.append(AppliedChange(change.product_id, change.delta, after))
    if problems:
        raise InsufficientStock(tuple(problems))
    return tuple(applied)
