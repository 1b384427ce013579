"""Step 2 of placing an order: price it. Pure; money is Decimal, half-up to cents.

line_total = unit_price × quantity; subtotal = Σ line_total; a coupon takes
percent_off % of the subtotal or amount_off, never more than the subtotal;
total = subtotal − discount. An order whose line total or subtotal would not
fit its columns is refused, never written.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from config.domain_errors import Problem
from orders.domain.placement import ValidOrder
from orders.errors import OrderRejected

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# The most OrderLine.line_total and Order.subtotal (NUMERIC(14, 2)) hold; the
# total and the discount never exceed the subtotal. Within inventory's price
# bound every order fits (999,999.99 × 1,000 units × 100 lines); only a
# product priced above it from before the bound can reach these.
MAX_LINE_TOTAL = Decimal("999999999999.99")
MAX_SUBTOTAL = Decimal("999999999999.99")
OUT_OF_RANGE = "out_of_range"


def to_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class CouponTerms:
    """A coupon as it is at the moment of ordering. Exactly one of
    ``percent_off`` (in (0, 100]) and ``amount_off`` (> 0) is set."""

    code: str
    percent_off: Decimal | None
    amount_off: Decimal | None
    valid_from: datetime | None
    valid_until: datetime | None
    max_uses: int | None
    times_used: int
    is_active: bool


@dataclass(frozen=True, slots=True)
class PricedLine:
    product_id: int
    sku: str
    name: str
    unit_price: Decimal
    quantity: int
    line_total: Decimal
    attr: str


@dataclass(frozen=True, slots=True)
class PricedOrder:
    lines: tuple[PricedLine, ...]
    subtotal: Decimal
    discount: Decimal
    total: Decimal
    coupon: str | None


def coupon_problem(coupon: CouponTerms, now: datetime) -> Problem | None:
    """Why ``coupon`` cannot be used at ``now``, or None when it can."""
    if not coupon.is_active:
        return Problem("coupon_inactive", "This coupon is not active.", "coupon")
    if coupon.valid_from is not None and now < coupon.valid_from:
        return Problem("coupon_not_yet_valid", "This coupon is not valid yet.", "coupon")
    if coupon.valid_until is not None and now >= coupon.valid_until:
        return Problem("coupon_expired", "This coupon has expired.", "coupon")
    if coupon.max_uses is not None and coupon.times_used >= coupon.max_uses:
        return Problem("coupon_used_up", "This coupon has been used up.", "coupon")
    return None


def discount_for(subtotal: Decimal, coupon: CouponTerms | None) -> Decimal:
    """The discount a coupon gives on ``subtotal``: 0 ≤ discount ≤ subtotal."""
    if coupon is None:
        return ZERO
    if coupon.percent_off is not None:
        raw = subtotal * coupon.percent_off / Decimal(100)
    elif coupon.amount_off is not None:
        raw = coupon.amount_off
    else:
        raw = ZERO
    return min(to_cents(raw), subtotal)


def amount_problems(lines: tuple[PricedLine, ...], subtotal: Decimal) -> list[Problem]:
    """Why these amounts cannot be stored: each line whose total exceeds
    ``MAX_LINE_TOTAL`` (on its attr), else a subtotal above ``MAX_SUBTOTAL``
    (on ``lines``)."""
    problems = [
        Problem(
            OUT_OF_RANGE,
            f"This line's total ({line.line_total}) is more than an order line may hold "
            f"(at most {MAX_LINE_TOTAL}); order fewer units.",
            line.attr,
        )
        for line in lines
        if line.line_total > MAX_LINE_TOTAL
    ]
    if not problems and subtotal > MAX_SUBTOTAL:
        problems.append(
            Problem(
                OUT_OF_RANGE,
                f"The order's subtotal ({subtotal}) is more than an order may hold "
                f"(at most {MAX_SUBTOTAL}); order fewer units.",
                "lines",
            )
        )
    return problems


def price_order(order: ValidOrder, coupon: CouponTerms | None, *, now: datetime) -> PricedOrder:
    """Price a validated order. Raises :class:`OrderRejected` carrying every
    problem: on ``coupon`` when the coupon cannot be used at ``now``;
    ``out_of_range`` when a line total or the subtotal would not fit
    (:func:`amount_problems`)."""
    problems: list[Problem] = []
    if coupon is not None and (problem := coupon_problem(coupon, now)) is not None:
        problems.append(problem)
    lines = tuple(
        PricedLine(
            product_id=line.product_id,
            sku=line.sku,
            name=line.name,
            unit_price=line.unit_price,
            quantity=line.quantity,
            line_total=to_cents(line.unit_price * line.quantity),
            attr=line.attr,
        )
        for line in order.lines
    )
    subtotal = sum((line.line_total for line in lines), ZERO)
    problems += amount_problems(lines, subtotal)
    if problems:
        raise OrderRejected(tuple(problems))
    discount = discount_for(subtotal, coupon)
    return PricedOrder(
        lines=lines,
        subtotal=subtotal,
        discount=discount,
        total=subtotal - discount,
        coupon=coupon.code if coupon else None,
    )
