"""Step 1 of placing an order: validate a draft against a catalog snapshot. Pure."""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from config.domain_errors import Problem
from orders.errors import OrderRejected

MIN_QUANTITY = 1
MAX_QUANTITY = 1000
MAX_LINES = 100


@dataclass(frozen=True, slots=True)
class DraftLine:
    product_id: int
    quantity: int


@dataclass(frozen=True, slots=True)
class OrderDraft:
    """What the customer asked for, as received."""

    lines: tuple[DraftLine, ...]
    coupon: str | None = None


@dataclass(frozen=True, slots=True)
class ProductSnapshot:
    """A product as it is at the moment of ordering."""

    id: int
    sku: str
    name: str
    price: Decimal
    is_active: bool


@dataclass(frozen=True, slots=True)
class ValidLine:
    product_id: int
    sku: str
    name: str
    unit_price: Decimal
    quantity: int
    attr: str  # where a problem with this line is reported: its first occurrence


@dataclass(frozen=True, slots=True)
class ValidOrder:
    lines: tuple[ValidLine, ...]
    coupon: str | None


def validate_order(draft: OrderDraft, catalog: Mapping[int, ProductSnapshot]) -> ValidOrder:
    """Check every line of ``draft`` against ``catalog`` and merge repeated products.

    Raises :class:`OrderRejected` carrying every problem found, each with the
    attr path of the offending input (``lines.2.product_id``).
    """
    problems: list[Problem] = []
    if not draft.lines:
        problems.append(Problem("empty", "An order needs at least one line.", "lines"))
    elif len(draft.lines) > MAX_LINES:
        problems.append(Problem("too_many_lines", f"An order has at most {MAX_LINES} lines.", "lines"))
    if problems:
        raise OrderRejected(tuple(problems))

    merged: dict[int, tuple[int, int]] = {}  # product id → (first index, total quantity)
    # Products with a line whose own quantity is already reported: their merged
    # total would only repeat that problem.
    reported: set[int] = set()
    for index, line in enumerate(draft.lines):
        if not MIN_QUANTITY <= line.quantity <= MAX_QUANTITY:
            reported.add(line.product_id)
            problems.append(
                Problem(
                    "out_of_range",
                    f"Quantity must be from {MIN_QUANTITY} to {MAX_QUANTITY}.",
                    f"lines.{index}.quantity",
                )
            )
        product = catalog.get(line.product_id)
        if product is None:
            problems.append(Problem("does_not_exist", "No such product.", f"lines.{index}.product_id"))
        elif not product.is_active:
            problems.append(Problem("inactive", "This product is no longer sold.", f"lines.{index}.product_id"))
        first, total = merged.get(line.product_id, (index, 0))
        merged[line.product_id] = (first, total + line.quantity)

    # Checked in the same pass, so every problem is reported at once.
    for product_id, (first, total) in merged.items():
        if product_id not in reported and total > MAX_QUANTITY:
            problems.append(
                Problem(
                    "out_of_range",
                    f"Product {product_id} is ordered {total} times in all; at most {MAX_QUANTITY}.",
                    f"lines.{first}.quantity",
                )
            )
    if problems:
        raise OrderRejected(tuple(problems))

    return ValidOrder(
        lines=tuple(
            ValidLine(
                product_id=pid,
                sku=catalog[pid].sku,
                name=catalog[pid].name,
                unit_price=catalog[pid].price,
                quantity=total,
                attr=f"lines.{first}.quantity",
            )
            for pid, (first, total) in merged.items()
        ),
        coupon=draft.coupon,
    )
