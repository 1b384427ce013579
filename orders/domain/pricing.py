"""Step 2 of placing an order: price it. Pure; money is Decimal, half-up to cents.

line_total = unit_price × quantity; subtotal = Σ line_total; a coupon takes
percent_off % of the subtotal or amount_off, never more than the subtotal;
total = subtotal − discount.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from config.domain_errors import Problem
from orders.domain.placement import ValidOrder
from orders.errors import OrderRejected

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


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


def price_order(order: ValidOrder, coupon: CouponTerms | None, *, now: datetime) -> PricedOrder:
    """Price a validated order. Raises :class:`OrderRejected` on ``coupon`` when
    the coupon cannot be used at ``now``."""
    if coupon is not None and (problem := coupon_problem(coupon, now)) is not None:
        raise OrderRejected(problem)
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
    discount = discount_for(subtotal, coupon)
    return PricedOrder(
        lines=lines,
        subtotal=subtotal,
        discount=discount,
        total=subtotal - discount,
        coupon=coupon.code if coupon else None,
    )
