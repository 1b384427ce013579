"""Returns and refunds: validate a return against its order, then price it. Pure;
money is Decimal, half-up to cents.

Only a delivered order takes returns. Each line names a product on the order
and at least one unit, and no product comes back more often than it was
ordered and is not back yet. Repeated lines of one product are merged, as
placement merges them, except that units put back on the shelf and units that
are not (``restock``) stay separate lines.

Refunds are cumulative. With ``R(x) = total × x / subtotal`` half-up to the
cent (0 when the subtotal is 0), where ``x`` is the value (Σ unit_price ×
quantity) of all the order's units returned so far, a return refunds
``R(after) − R(before)``: the order's refunds never add up to more than its
total, and to exactly its total once every unit is back, when the order
becomes ``returned``. A return's refund is split among its lines in
proportion to their value, each half-up to the cent, the last line taking the
remainder (:func:`split_refund`).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

from config.domain_errors import Problem
from orders.domain.placement import MAX_LINES, MIN_QUANTITY
from orders.domain.pricing import CENT, ZERO, to_cents
from orders.domain.status import Status
from orders.errors import InvalidTransition, ReturnRejected

RETURN_EXCEEDS_ORDERED = "return_exceeds_ordered"
NOT_ON_ORDER = "not_on_order"
# Digits for a proportion before it is rounded to the cent: enough that only a
# true half-cent rounds as one, whatever the amounts (the default 28 only just
# suffice for amounts that fit the columns, 14 digits).
_PRECISION = 60


@dataclass(frozen=True, slots=True)
class OrderLineSnapshot:
    """One line of an order as it is when a return is recorded (one line per
    product, as placement merges them)."""

    product_id: int
    unit_price: Decimal
    quantity: int
    returned_quantity: int

    @property
    def returnable(self) -> int:
        """Units ordered and not back yet."""
        return self.quantity - self.returned_quantity


@dataclass(frozen=True, slots=True)
class OrderSnapshot:
    """An order as it is when a return is recorded (under its row lock)."""

    status: Status
    lines: tuple[OrderLineSnapshot, ...]
    subtotal: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class ReturnDraftLine:
    product_id: int
    quantity: int
    restock: bool = True


@dataclass(frozen=True, slots=True)
class ReturnDraft:
    """What staff asked to record, as received (``lines.N`` is ``lines[N]``)."""

    lines: tuple[ReturnDraftLine, ...]


@dataclass(frozen=True, slots=True)
class ValidReturnLine:
    product_id: int
    unit_price: Decimal
    quantity: int
    restock: bool
    attr: str  # where a problem with this line is reported: its first occurrence's quantity


@dataclass(frozen=True, slots=True)
class ValidReturn:
    lines: tuple[ValidReturnLine, ...]


@dataclass(frozen=True, slots=True)
class PricedReturnLine:
    product_id: int
    unit_price: Decimal
    quantity: int
    restock: bool
    value: Decimal  # unit_price × quantity
    refund_amount: Decimal
    attr: str


@dataclass(frozen=True, slots=True)
class PricedReturn:
    lines: tuple[PricedReturnLine, ...]
    refund_total: Decimal  # Σ refund_amount = refunded_after − refunded_before
    refunded_before: Decimal  # R(before): what the order's earlier returns refunded
    refunded_after: Decimal  # R(after): the order's refunded_total once this return is recorded
    fully_returned: bool  # every unit is back: the order becomes returned
    units_by_product: dict[int, int]  # units coming back, by product (its restocked and written-off lines together)


def validate_return(order: OrderSnapshot, draft: ReturnDraft) -> ValidReturn:
    """Check ``draft`` against ``order`` and merge repeated lines.

    An order that is not delivered takes no return: :class:`InvalidTransition`
    (409, no attr), before the lines are looked at. Otherwise raises
    :class:`ReturnRejected` carrying every problem found, each on the attr of
    the offending input: ``empty`` or ``too_many_lines`` on ``lines``;
    ``out_of_range`` on ``lines.N.quantity`` for a quantity below 1;
    ``not_on_order`` on ``lines.N.product_id`` for a product the order does
    not have; ``return_exceeds_ordered`` on the quantity of a product's first
    line when its lines add up to more than was ordered and is not back yet.

    Lines of one product with the same ``restock`` are merged into the first
    of them; a product's restocked and not-restocked units stay two lines.
    """
    if order.status != Status.DELIVERED:
        raise InvalidTransition(
            Problem(
                InvalidTransition.code,
                f"Returns are recorded only for a delivered order; this order is {order.status.value}.",
                None,
            )
        )
    problems: list[Problem] = []
    if not draft.lines:
        problems.append(Problem("empty", "A return needs at least one line.", "lines"))
    elif len(draft.lines) > MAX_LINES:
        problems.append(Problem("too_many_lines", f"A return has at most {MAX_LINES} lines.", "lines"))
    if problems:
        raise ReturnRejected(tuple(problems))

    ordered = {line.product_id: line for line in order.lines}
    first: dict[int, int] = {}  # product id → index of its first line
    totals: dict[int, int] = {}  # product id → units asked back, over all its lines
    merged: dict[tuple[int, bool], tuple[int, int]] = {}  # (product id, restock) → (first index, quantity)
    # Products with a line whose own quantity is already reported: their total
    # would only repeat that problem.
    reported: set[int] = set()
    for index, line in enumerate(draft.lines):
        if line.quantity < MIN_QUANTITY:
            reported.add(line.product_id)
            problems.append(
                Problem("out_of_range", f"Quantity must be at least {MIN_QUANTITY}.", f"lines.{index}.quantity")
            )
        if line.product_id not in ordered:
            problems.append(
                Problem(NOT_ON_ORDER, f"Product {line.product_id} is not on this order.", f"lines.{index}.product_id")
            )
        first.setdefault(line.product_id, index)
        totals[line.product_id] = totals.get(line.product_id, 0) + line.quantity
        key = (line.product_id, line.restock)
        start, quantity = merged.get(key, (index, 0))
        merged[key] = (start, quantity + line.quantity)

    # Checked in the same pass, so every problem is reported at once.
    for product_id, total in totals.items():
        ordered_line = ordered.get(product_id)
        if ordered_line is None or product_id in reported or total <= ordered_line.returnable:
            continue
        problems.append(
            Problem(
                RETURN_EXCEEDS_ORDERED,
                f"Product {product_id} is returned {total} times in all, but only {ordered_line.returnable} "
                f"of the {ordered_line.quantity} ordered are not back yet.",
                f"lines.{first[product_id]}.quantity",
            )
        )
    if problems:
        raise ReturnRejected(tuple(problems))

    return ValidReturn(
        lines=tuple(
            ValidReturnLine(
                product_id=product_id,
                unit_price=ordered[product_id].unit_price,
                quantity=quantity,
                restock=restock,
                attr=f"lines.{start}.quantity",
            )
            for (product_id, restock), (start, quantity) in merged.items()
        )
    )


def _proportion(amount: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """``amount × part / whole`` exactly enough to round right (see _PRECISION)."""
    with localcontext() as context:
        context.prec = _PRECISION
        return amount * part / whole


def cumulative_refund(total: Decimal, subtotal: Decimal, returned_value: Decimal) -> Decimal:
    """R(x): what an order's refunds add up to once units worth ``returned_value``
    (Σ unit_price × quantity) are back: ``total × returned_value / subtotal``
    half-up to the cent, 0 when the subtotal is 0. Never decreases as
    ``returned_value`` grows; ``total`` when it reaches the subtotal."""
    if subtotal == 0:
        return ZERO
    return to_cents(_proportion(total, returned_value, subtotal))


def split_refund(refund_total: Decimal, values: Sequence[Decimal]) -> tuple[Decimal, ...]:
    """Split a return's ``refund_total`` among its lines of these ``values``.

    Each line but the last gets ``refund_total × value / Σ values`` half-up to
    the cent (0 when Σ values is 0) and the last line the remainder, so the
    shares add up to ``refund_total``. Half-up can take the earlier lines past
    ``refund_total`` (0.02 over four lines of equal value: 0.005 each, rounded
    to 0.01 three times); then, rather than a negative last share, the cents
    over are taken back, one each, from the earlier lines rounded up the most
    (the later line first among equals) and the last line gets 0. So every
    share is ≥ 0 and within a cent of its exact proportion, save the last's.
    """
    if refund_total < 0:
        raise ValueError(f"A refund is never negative, not {refund_total}.")
    if not values:
        if refund_total != 0:
            raise ValueError("A refund needs at least one line to go to.")
        return ()
    whole = sum(values, ZERO)
    exact = [_proportion(refund_total, value, whole) if whole != 0 else ZERO for value in values[:-1]]
    shares = [to_cents(amount) for amount in exact]  # quantize rounds its operand as it is, however long
    over = sum(shares, ZERO) - refund_total
    if over > 0:
        rounded_up_most = sorted(range(len(shares)), key=lambda i: (shares[i] - exact[i], i), reverse=True)
        for i in rounded_up_most[: int(over / CENT)]:
            shares[i] -= CENT
    return (*shares, refund_total - sum(shares, ZERO))


def returned_value(order: OrderSnapshot) -> Decimal:
    """The value (Σ unit_price × returned_quantity) of the order's units already back."""
    return sum((line.unit_price * line.returned_quantity for line in order.lines), ZERO)


def price_return(order: OrderSnapshot, valid: ValidReturn) -> PricedReturn:
    """Price a return that :func:`validate_return` accepted for ``order``.

    It refunds ``R(after) − R(before)`` (:func:`cumulative_refund`), ``before``
    and ``after`` being the value of the units back before and with this
    return, split among its lines by :func:`split_refund`. ``fully_returned``
    when it brings back every unit the order still had out.
    """
    before = returned_value(order)
    values = [line.unit_price * line.quantity for line in valid.lines]
    after = before + sum(values, ZERO)
    refunded_before = cumulative_refund(order.total, order.subtotal, before)
    refunded_after = cumulative_refund(order.total, order.subtotal, after)
    refund_total = refunded_after - refunded_before
    shares = split_refund(refund_total, values)

    coming_back: dict[int, int] = {}
    for line in valid.lines:
        coming_back[line.product_id] = coming_back.get(line.product_id, 0) + line.quantity
    fully_returned = all(coming_back.get(line.product_id, 0) == line.returnable for line in order.lines)

    return PricedReturn(
        lines=tuple(
            PricedReturnLine(
                product_id=line.product_id,
                unit_price=line.unit_price,
                quantity=line.quantity,
                restock=line.restock,
                value=value,
                refund_amount=share,
                attr=line.attr,
            )
            for line, value, share in zip(valid.lines, values, shares, strict=True)
        ),
        refund_total=refund_total,
        refunded_before=refunded_before,
        refunded_after=refunded_after,
        fully_returned=fully_returned,
        units_by_product=coming_back,
    )
