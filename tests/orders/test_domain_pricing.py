"""price_order and coupon rules: pure, no database (pytest-django refuses a query here)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inventory.domain.bounds import MAX_PRICE
from inventory.models import Product
from orders.domain.placement import MAX_LINES, MAX_QUANTITY, ValidLine, ValidOrder
from orders.domain.pricing import (
    MAX_LINE_TOTAL,
    MAX_SUBTOTAL,
    CouponTerms,
    coupon_problem,
    discount_for,
    price_order,
    to_cents,
)
from orders.errors import OrderRejected
from orders.models import Order, OrderLine

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CENT = Decimal("0.01")


def order(*lines: tuple[str, int], coupon: str | None = None) -> ValidOrder:
    return ValidOrder(
        lines=tuple(
            ValidLine(
                product_id=i + 1,
                sku=f"SKU-{i + 1}",
                name=f"Product {i + 1}",
                unit_price=Decimal(price),
                quantity=qty,
                attr=f"lines.{i}.quantity",
            )
            for i, (price, qty) in enumerate(lines)
        ),
        coupon=coupon,
    )


def coupon(
    *, percent: str | None = None, amount: str | None = None, code: str = "SAVE", **terms: object
) -> CouponTerms:
    base = CouponTerms(
        code=code,
        percent_off=Decimal(percent) if percent is not None else None,
        amount_off=Decimal(amount) if amount is not None else None,
        valid_from=None,
        valid_until=None,
        max_uses=None,
        times_used=0,
        is_active=True,
    )
    return replace(base, **terms)  # type: ignore[arg-type]


def money(value: Decimal) -> str:
    """The value as the API shows it; also proves it has exactly two places."""
    assert value.as_tuple().exponent == -2, value
    return str(value)


# --- Table-driven -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "cents"),
    [("0.125", "0.13"), ("0.135", "0.14"), ("0.124", "0.12"), ("2.675", "2.68"), ("0.005", "0.01"), ("7", "7.00")],
)
def test_to_cents_rounds_half_up(amount, cents):
    assert money(to_cents(Decimal(amount))) == cents


def test_price_order_without_coupon_sums_line_totals():
    priced = price_order(order(("19.99", 3), ("0.01", 7), ("1000.00", 1)), None, now=NOW)
    assert [money(line.line_total) for line in priced.lines] == ["59.97", "0.07", "1000.00"]
    assert (money(priced.subtotal), money(priced.discount), money(priced.total)) == ("1060.04", "0.00", "1060.04")
    assert priced.coupon is None
    assert [line.attr for line in priced.lines] == ["lines.0.quantity", "lines.1.quantity", "lines.2.quantity"]


def test_price_order_rounds_each_line_total_half_up_to_cents():
    # Prices from the catalog have two places, but the rule must hold for any Decimal.
    priced = price_order(order(("0.125", 1), ("0.333", 3)), None, now=NOW)
    assert [money(line.line_total) for line in priced.lines] == ["0.13", "1.00"]
    assert money(priced.subtotal) == "1.13"


@pytest.mark.parametrize(
    ("lines", "terms", "discount", "total"),
    [
        ([("19.99", 1)], {"percent": "10"}, "2.00", "17.99"),  # 1.999 → 2.00
        ([("0.05", 1)], {"percent": "50"}, "0.03", "0.02"),  # 0.025 → 0.03, half-up not half-even
        ([("10.00", 3)], {"percent": "100"}, "30.00", "0.00"),
        ([("10.00", 3)], {"percent": "0.01"}, "0.00", "30.00"),  # 0.003 rounds to nothing
        ([("19.99", 1)], {"amount": "5.00"}, "5.00", "14.99"),
        ([("19.99", 1)], {"amount": "19.99"}, "19.99", "0.00"),
        ([("19.99", 1)], {"amount": "50.00"}, "19.99", "0.00"),  # capped at the subtotal
        ([("1.00", 2), ("2.50", 2)], {"amount": "0.01"}, "0.01", "6.99"),
    ],
)
def test_price_order_applies_percent_and_amount_coupons(lines, terms, discount, total):
    priced = price_order(order(*lines, coupon="save"), coupon(**terms), now=NOW)
    assert (money(priced.discount), money(priced.total)) == (discount, total)
    assert priced.coupon == "SAVE"  # the coupon's own code, not the customer's spelling


@pytest.mark.parametrize(
    ("terms", "code"),
    [
        ({"is_active": False}, "coupon_inactive"),
        ({"valid_from": NOW + timedelta(seconds=1)}, "coupon_not_yet_valid"),
        ({"valid_until": NOW}, "coupon_expired"),
        ({"valid_until": NOW - timedelta(days=1)}, "coupon_expired"),
        ({"max_uses": 3, "times_used": 3}, "coupon_used_up"),
        ({"max_uses": 1, "times_used": 2}, "coupon_used_up"),
    ],
)
def test_price_order_refuses_a_coupon_outside_its_window_on_attr_coupon(terms, code):
    with pytest.raises(OrderRejected) as exc:
        price_order(order(("10.00", 1)), coupon(percent="10", **terms), now=NOW)
    assert exc.value.status == 400
    assert [(p.code, p.attr) for p in exc.value.problems] == [(code, "coupon")]


@pytest.mark.parametrize(
    "terms",
    [
        {"valid_from": NOW},
        {"valid_from": NOW - timedelta(days=1), "valid_until": NOW + timedelta(seconds=1)},
        {"max_uses": 3, "times_used": 2},
        {"max_uses": None, "times_used": 10_000},
    ],
)
def test_price_order_accepts_a_coupon_inside_its_window(terms):
    assert coupon_problem(coupon(percent="10", **terms), NOW) is None
    assert money(price_order(order(("10.00", 1)), coupon(percent="10", **terms), now=NOW).discount) == "1.00"


def test_discount_for_no_coupon_is_zero():
    assert money(discount_for(Decimal("12.34"), None)) == "0.00"


# --- Hypothesis -------------------------------------------------------------------

prices = st.decimals(min_value=0, max_value=100_000, places=2, allow_nan=False, allow_infinity=False)
quantities = st.integers(1, 1000)
percent_coupons = st.decimals(min_value=Decimal("0.01"), max_value=100, places=2).map(lambda p: coupon(percent=str(p)))
amount_coupons = st.decimals(min_value=Decimal("0.01"), max_value=1_000_000, places=2).map(
    lambda a: coupon(amount=str(a))
)
coupons = st.one_of(st.none(), percent_coupons, amount_coupons)


@given(st.lists(st.tuples(prices, quantities), min_size=1, max_size=20), coupons)
def test_price_order_invariants_hold_for_any_prices_quantities_and_coupon(lines, terms):
    priced = price_order(order(*((str(p), q) for p, q in lines)), terms, now=NOW)

    for line, (price, qty) in zip(priced.lines, lines, strict=True):
        assert line.line_total == (price * qty).quantize(CENT, rounding=ROUND_HALF_UP)
        money(line.line_total)
    assert priced.subtotal == sum((line.line_total for line in priced.lines), Decimal("0.00"))
    assert Decimal(0) <= priced.discount <= priced.subtotal
    assert priced.total == priced.subtotal - priced.discount
    for value in (priced.subtotal, priced.discount, priced.total):
        money(value)

    if terms is None:
        assert priced.discount == 0
    elif terms.percent_off is not None:
        expected = (priced.subtotal * terms.percent_off / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        assert priced.discount == min(expected, priced.subtotal)
    else:
        assert priced.discount == min(terms.amount_off, priced.subtotal)


@given(
    st.booleans(),
    st.one_of(st.none(), st.integers(-3, 3)),
    st.one_of(st.none(), st.integers(-3, 3)),
    st.one_of(st.none(), st.integers(1, 5)),
    st.integers(0, 6),
)
def test_coupon_problem_is_none_exactly_inside_the_window(is_active, from_days, until_days, max_uses, times_used):
    day = timedelta(days=1)
    terms = coupon(
        percent="5",
        is_active=is_active,
        valid_from=None if from_days is None else NOW + from_days * day,
        valid_until=None if until_days is None else NOW + until_days * day,
        max_uses=max_uses,
        times_used=times_used,
    )
    usable = (
        is_active
        and (from_days is None or from_days <= 0)
        and (until_days is None or until_days > 0)
        and (max_uses is None or times_used < max_uses)
    )
    problem = coupon_problem(terms, NOW)
    assert (problem is None) == usable
    if problem is not None:
        assert problem.attr == "coupon"
        assert problem.code in {"coupon_inactive", "coupon_not_yet_valid", "coupon_expired", "coupon_used_up"}


# --- Bounds: what the columns hold ----------------------------------------------------


def largest(max_digits: int, places: int) -> Decimal:
    """The largest value a NUMERIC(max_digits, places) column holds."""
    return Decimal(10 ** (max_digits - places)) - Decimal(1).scaleb(-places)


def test_the_amount_bounds_are_what_the_order_columns_hold():
    line_total = OrderLine._meta.get_field("line_total")
    assert largest(line_total.max_digits, line_total.decimal_places) == MAX_LINE_TOTAL
    for name in ("subtotal", "total", "discount"):
        field = Order._meta.get_field(name)
        assert largest(field.max_digits, field.decimal_places) == MAX_SUBTOTAL, name


def test_the_largest_order_of_products_within_the_price_bound_fits():
    price = Product._meta.get_field("price")
    assert largest(price.max_digits, price.decimal_places) > MAX_PRICE
    assert MAX_PRICE * MAX_QUANTITY <= MAX_LINE_TOTAL
    assert MAX_PRICE * MAX_QUANTITY * MAX_LINES <= MAX_SUBTOTAL
    biggest = order(*[(str(MAX_PRICE), MAX_QUANTITY)] * MAX_LINES)
    assert money(price_order(biggest, None, now=NOW).subtotal) == "99999999000.00"


LEGACY = "9999999999.99"  # the most the price column holds: a product from before the bound


def test_price_order_refuses_a_line_total_that_would_not_fit_on_the_lines_attr():
    with pytest.raises(OrderRejected) as exc:
        price_order(order(("1.00", 1), (LEGACY, 101), (LEGACY, 1000)), None, now=NOW)
    assert exc.value.status == 400
    assert [(p.code, p.attr) for p in exc.value.problems] == [
        ("out_of_range", "lines.1.quantity"),
        ("out_of_range", "lines.2.quantity"),
    ]
    assert all(str(MAX_LINE_TOTAL) in p.detail for p in exc.value.problems)


def test_price_order_refuses_a_subtotal_that_would_not_fit_on_lines():
    # Each line fits (999,999,999,999.00), their sum does not.
    with pytest.raises(OrderRejected) as exc:
        price_order(order((LEGACY, 100), (LEGACY, 100)), None, now=NOW)
    assert [(p.code, p.attr) for p in exc.value.problems] == [("out_of_range", "lines")]
    assert str(MAX_SUBTOTAL) in exc.value.problems[0].detail


def test_price_order_accepts_totals_exactly_at_the_bounds():
    priced = price_order(order((LEGACY, 100), ("0.99", 1)), coupon(amount="0.01"), now=NOW)
    assert (money(priced.subtotal), money(priced.total)) == (str(MAX_SUBTOTAL), "999999999999.98")


def test_price_order_reports_a_bad_coupon_and_an_overflow_together():
    with pytest.raises(OrderRejected) as exc:
        price_order(order((LEGACY, 1000)), coupon(percent="10", is_active=False), now=NOW)
    assert [(p.code, p.attr) for p in exc.value.problems] == [
        ("coupon_inactive", "coupon"),
        ("out_of_range", "lines.0.quantity"),
    ]


column_prices = st.decimals(min_value=0, max_value=Decimal(LEGACY), places=2)
bounded_prices = st.decimals(min_value=0, max_value=MAX_PRICE, places=2)


@given(st.lists(st.tuples(column_prices, st.integers(1, MAX_QUANTITY)), min_size=1, max_size=MAX_LINES))
def test_price_order_either_refuses_with_out_of_range_or_gives_amounts_that_fit(lines):
    try:
        priced = price_order(order(*((str(p), q) for p, q in lines)), None, now=NOW)
    except OrderRejected as exc:
        assert {p.code for p in exc.problems} == {"out_of_range"}
        totals = [to_cents(p * q) for p, q in lines]
        assert any(t > MAX_LINE_TOTAL for t in totals) or sum(totals) > MAX_SUBTOTAL
    else:
        assert all(line.line_total <= MAX_LINE_TOTAL for line in priced.lines)
        assert priced.subtotal <= MAX_SUBTOTAL


@given(st.lists(st.tuples(bounded_prices, st.integers(1, MAX_QUANTITY)), min_size=1, max_size=MAX_LINES), coupons)
def test_price_order_never_refuses_products_within_the_price_bound(lines, terms):
    price_order(order(*((str(p), q) for p, q in lines)), terms, now=NOW)
