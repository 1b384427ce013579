"""validate_order: pure rules, no database (pytest-django refuses a query here)."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orders.domain.placement import (
    MAX_LINES,
    MAX_QUANTITY,
    DraftLine,
    OrderDraft,
    ProductSnapshot,
    ValidLine,
    validate_order,
)
from orders.errors import OrderRejected


def snapshot(pid: int, *, price: str = "10.00", is_active: bool = True) -> ProductSnapshot:
    return ProductSnapshot(id=pid, sku=f"SKU-{pid}", name=f"Product {pid}", price=Decimal(price), is_active=is_active)


CATALOG = {
    1: snapshot(1, price="1.50"),
    2: snapshot(2, price="19.99"),
    3: snapshot(3, price="0.01"),
    9: snapshot(9, is_active=False),
}


def draft(*lines: tuple[int, int], coupon: str | None = None) -> OrderDraft:
    return OrderDraft(lines=tuple(DraftLine(pid, qty) for pid, qty in lines), coupon=coupon)


def rejected(d: OrderDraft, catalog=CATALOG) -> list[tuple[str, str | None]]:
    with pytest.raises(OrderRejected) as exc:
        validate_order(d, catalog)
    assert exc.value.status == 400
    return [(p.code, p.attr) for p in exc.value.problems]


def test_validate_order_snapshots_each_line_from_the_catalog():
    valid = validate_order(draft((2, 3), (1, 1), coupon="SAVE10"), CATALOG)
    assert valid.coupon == "SAVE10"
    assert valid.lines == (
        ValidLine(product_id=2, sku="SKU-2", name="Product 2", unit_price=Decimal("19.99"), quantity=3, attr="lines.0.quantity"),
        ValidLine(product_id=1, sku="SKU-1", name="Product 1", unit_price=Decimal("1.50"), quantity=1, attr="lines.1.quantity"),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        # (product id, quantity) per line → (product id, merged quantity, attr of the first occurrence)
        ([(1, 2), (1, 3)], [(1, 5, "lines.0.quantity")]),
        ([(2, 1), (1, 4), (2, 6)], [(2, 7, "lines.0.quantity"), (1, 4, "lines.1.quantity")]),
        ([(3, 1), (1, 1), (2, 1), (1, 1), (3, 1)], [(3, 2, "lines.0.quantity"), (1, 2, "lines.1.quantity"), (2, 1, "lines.2.quantity")]),
        ([(1, 500), (1, 500)], [(1, 1000, "lines.0.quantity")]),
    ],
)  # fmt: skip
def test_validate_order_merges_repeated_products_at_their_first_occurrence(lines, expected):
    valid = validate_order(draft(*lines), CATALOG)
    assert [(line.product_id, line.quantity, line.attr) for line in valid.lines] == expected


@pytest.mark.parametrize(
    ("lines", "problems"),
    [
        ([], [("empty", "lines")]),
        ([(1, 1)] * (MAX_LINES + 1), [("too_many_lines", "lines")]),
        ([(1, 0)], [("out_of_range", "lines.0.quantity")]),
        ([(1, -3)], [("out_of_range", "lines.0.quantity")]),
        ([(1, 1), (2, MAX_QUANTITY + 1)], [("out_of_range", "lines.1.quantity")]),
        ([(1, 1), (404, 1)], [("does_not_exist", "lines.1.product_id")]),
        ([(9, 1)], [("inactive", "lines.0.product_id")]),
        # Merged over the limit: reported on the first occurrence.
        ([(2, 1), (1, 600), (1, 401)], [("out_of_range", "lines.1.quantity")]),
        # Every problem at once, in line order.
        (
            [(404, 0), (9, 2), (1, 1001), (2, 1)],
            [
                ("out_of_range", "lines.0.quantity"),
                ("does_not_exist", "lines.0.product_id"),
                ("inactive", "lines.1.product_id"),
                ("out_of_range", "lines.2.quantity"),
            ],
        ),
        # A per-line problem does not hide a merged total over the limit elsewhere.
        (
            [(404, 1), (2, 700), (2, 301)],
            [("does_not_exist", "lines.0.product_id"), ("out_of_range", "lines.1.quantity")],
        ),
    ],
)
def test_validate_order_reports_every_problem_on_its_attr(lines, problems):
    assert rejected(draft(*lines)) == problems


def test_validate_order_accepts_exactly_the_limits():
    valid = validate_order(draft(*[(1, 1)] * (MAX_LINES - 1), (2, MAX_QUANTITY)), CATALOG)
    assert [(line.product_id, line.quantity) for line in valid.lines] == [(1, MAX_LINES - 1), (2, MAX_QUANTITY)]


def test_validate_order_is_pure_and_leaves_its_inputs_alone():
    d = draft((1, 2), (1, 3))
    before = (d, dict(CATALOG))
    validate_order(d, CATALOG)
    assert (d, dict(CATALOG)) == before


# --- Hypothesis -------------------------------------------------------------------

ACTIVE = {pid: snapshot(pid, price=f"{pid}.25") for pid in range(1, 6)}
draft_lines = st.lists(st.tuples(st.integers(1, 5), st.integers(1, 400)), min_size=1, max_size=MAX_LINES)


@given(draft_lines)
def test_validate_order_merge_keeps_first_order_and_sums_quantities(lines) -> None:
    totals: dict[int, int] = {}
    first: dict[int, int] = {}
    for index, (pid, qty) in enumerate(lines):
        first.setdefault(pid, index)
        totals[pid] = totals.get(pid, 0) + qty
    over = [f"lines.{first[pid]}.quantity" for pid in totals if totals[pid] > MAX_QUANTITY]

    if over:
        assert rejected(draft(*lines), ACTIVE) == [("out_of_range", attr) for attr in over]
        return
    valid = validate_order(draft(*lines), ACTIVE)
    assert [line.product_id for line in valid.lines] == list(first)  # first-occurrence order, no repeats
    for line in valid.lines:
        assert line.quantity == totals[line.product_id]
        assert line.attr == f"lines.{first[line.product_id]}.quantity"
        assert line.unit_price == ACTIVE[line.product_id].price
    assert sum(line.quantity for line in valid.lines) == sum(qty for _, qty in lines)


@given(st.lists(st.tuples(st.integers(1, 12), st.integers(-5, 1010)), min_size=1, max_size=30))
def test_validate_order_flags_exactly_the_bad_lines_all_at_once(lines) -> None:
    catalog = {**ACTIVE, 6: snapshot(6, is_active=False)}  # 7…12 are unknown
    expected: list[tuple[str, str]] = []
    first: dict[int, int] = {}
    totals: dict[int, int] = {}
    bad_quantity: set[int] = set()
    for index, (pid, qty) in enumerate(lines):
        first.setdefault(pid, index)
        totals[pid] = totals.get(pid, 0) + qty
        if not 1 <= qty <= MAX_QUANTITY:
            bad_quantity.add(pid)
            expected.append(("out_of_range", f"lines.{index}.quantity"))
        if pid not in catalog:
            expected.append(("does_not_exist", f"lines.{index}.product_id"))
        elif not catalog[pid].is_active:
            expected.append(("inactive", f"lines.{index}.product_id"))
    expected += [
        ("out_of_range", f"lines.{first[pid]}.quantity")
        for pid in first
        if pid not in bad_quantity and totals[pid] > MAX_QUANTITY
    ]

    if expected:
        assert rejected(draft(*lines), catalog) == expected
    else:
        assert len(validate_order(draft(*lines), catalog).lines) == len(first)
