"""The ledger rule, pure: no database (these tests do not request ``db``, so
pytest-django would refuse any query, which proves the rule is pure)."""

from dataclasses import FrozenInstanceError

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inventory.domain.ledger import MAX_STOCK, STOCK_COLUMN_MAX, AppliedChange, StockChange, apply_changes
from inventory.errors import InsufficientStock, StockLimitExceeded


@pytest.mark.parametrize(
    ("balances", "changes", "expected"),
    [
        pytest.param({1: 0}, [StockChange(1, 5)], [AppliedChange(1, 5, 5)], id="receive-into-empty"),
        pytest.param({1: 5}, [StockChange(1, -5)], [AppliedChange(1, -5, 0)], id="take-everything"),
        pytest.param(
            {1: 3},
            [StockChange(1, -1), StockChange(1, -1), StockChange(1, 4)],
            [AppliedChange(1, -1, 2), AppliedChange(1, -1, 1), AppliedChange(1, 4, 5)],
            id="running-balance-per-change",
        ),
        pytest.param(
            {1: 2, 2: 7},
            [StockChange(2, -7), StockChange(1, -2), StockChange(2, 1)],
            [AppliedChange(2, -7, 0), AppliedChange(1, -2, 0), AppliedChange(2, 1, 1)],
            id="several-products-each-with-its-own-balance",
        ),
        pytest.param(
            {1: 0},
            [StockChange(1, 3), StockChange(1, -3)],
            [AppliedChange(1, 3, 3), AppliedChange(1, -3, 0)],
            id="in-then-out",
        ),
        pytest.param({1: 4}, [], [], id="no-changes"),
    ],
)
def test_apply_changes_gives_each_change_its_balance_after(balances, changes, expected):
    assert apply_changes(balances, changes) == tuple(expected)


@pytest.mark.parametrize(
    ("balances", "changes", "short_attrs"),
    [
        pytest.param({1: 0}, [StockChange(1, -1, attr="delta")], ["delta"], id="empty-product"),
        pytest.param({1: 4}, [StockChange(1, -5, attr="delta")], ["delta"], id="one-too-many"),
        pytest.param(
            {1: 1, 2: 1},
            [
                StockChange(1, -2, attr="lines.0.quantity"),
                StockChange(2, -1, attr="lines.1.quantity"),
                StockChange(2, -3, attr="lines.2.quantity"),
            ],
            ["lines.0.quantity", "lines.2.quantity"],
            id="every-short-line-is-named",
        ),
        pytest.param(
            {1: 2},
            [StockChange(1, -2, attr="a"), StockChange(1, -1, attr="b")],
            ["b"],
            id="earlier-changes-count-against-later-ones",
        ),
        pytest.param({1: 1}, [StockChange(1, -3)], [None], id="attr-may-be-none"),
    ],
)
def test_apply_changes_rejects_a_short_batch_naming_every_short_change(balances, changes, short_attrs):
    before = dict(balances)
    with pytest.raises(InsufficientStock) as excinfo:
        apply_changes(balances, changes)
    problems = excinfo.value.problems
    assert [p.attr for p in problems] == short_attrs
    assert {p.code for p in problems} == {"insufficient_stock"}
    assert all(p.detail for p in problems)
    assert balances == before  # the input is never mutated


def test_insufficient_stock_is_a_409_conflict():
    assert InsufficientStock.status == 409
    assert InsufficientStock.code == "insufficient_stock"


def test_insufficient_stock_detail_says_what_is_available_and_requested():
    with pytest.raises(InsufficientStock) as excinfo:
        apply_changes({7: 2}, [StockChange(7, -5, attr="delta")])
    (problem,) = excinfo.value.problems
    assert "2" in problem.detail and "5" in problem.detail


def test_apply_changes_refuses_a_zero_change():
    with pytest.raises(ValueError):
        apply_changes({1: 1}, [StockChange(1, 0)])


def test_apply_changes_refuses_an_unknown_product():
    with pytest.raises(KeyError):
        apply_changes({1: 1}, [StockChange(2, 1)])


def test_values_are_immutable():
    change = StockChange(1, 1)
    with pytest.raises(FrozenInstanceError):
        change.delta = 2
    applied = apply_changes({1: 0}, [change])
    assert isinstance(applied, tuple)
    with pytest.raises(FrozenInstanceError):
        applied[0].balance_after = 9


# --- Upper bounds: MAX_STOCK for staff's changes, the column for every change --


def test_the_stock_bounds_leave_headroom_below_the_32_bit_column():
    assert STOCK_COLUMN_MAX == 2_147_483_647
    assert MAX_STOCK == 1_000_000_000
    assert MAX_STOCK * 2 < STOCK_COLUMN_MAX


@pytest.mark.parametrize(
    ("balance", "delta", "ceiling"),
    [
        pytest.param(MAX_STOCK, 1, MAX_STOCK, id="one-above-max-stock"),
        pytest.param(0, MAX_STOCK + 1, MAX_STOCK, id="initial-stock-above-max-stock"),
        pytest.param(STOCK_COLUMN_MAX, 1, STOCK_COLUMN_MAX, id="one-above-the-column"),
        pytest.param(STOCK_COLUMN_MAX - 5, 6, 2**63, id="a-ceiling-above-the-column-is-still-the-column"),
        pytest.param(MAX_STOCK + 10, 1, MAX_STOCK, id="already-above-max-stock-may-not-rise"),
    ],
)
def test_apply_changes_refuses_an_increase_above_its_ceiling_with_stock_limit_exceeded(balance, delta, ceiling):
    with pytest.raises(StockLimitExceeded) as excinfo:
        apply_changes({1: balance}, [StockChange(1, delta, attr="delta", ceiling=ceiling)])
    (problem,) = excinfo.value.problems
    assert (problem.code, problem.attr) == ("stock_limit_exceeded", "delta")
    assert str(balance + delta) in problem.detail and str(min(ceiling, STOCK_COLUMN_MAX)) in problem.detail


@pytest.mark.parametrize(
    ("balance", "delta", "ceiling"),
    [
        pytest.param(MAX_STOCK - 1, 1, MAX_STOCK, id="exactly-max-stock"),
        pytest.param(0, MAX_STOCK, MAX_STOCK, id="initial-stock-of-exactly-max-stock"),
        pytest.param(MAX_STOCK, 1, STOCK_COLUMN_MAX, id="cancels-may-go-above-max-stock"),
        pytest.param(STOCK_COLUMN_MAX - 1, 1, STOCK_COLUMN_MAX, id="exactly-the-column"),
        pytest.param(MAX_STOCK + 10, -1, MAX_STOCK, id="stock-above-the-ceiling-may-come-down"),
    ],
)
def test_apply_changes_accepts_an_increase_up_to_its_ceiling_and_any_decrease(balance, delta, ceiling):
    (applied,) = apply_changes({1: balance}, [StockChange(1, delta, attr="delta", ceiling=ceiling)])
    assert applied.balance_after == balance + delta


def test_apply_changes_names_every_change_above_its_ceiling_and_applies_none():
    balances = {1: STOCK_COLUMN_MAX - 1, 2: 0}
    changes = [
        StockChange(1, 2, attr="lines.0.quantity"),
        StockChange(2, 5, attr="lines.1.quantity"),
        StockChange(2, 6, attr="lines.2.quantity", ceiling=10),
    ]
    with pytest.raises(StockLimitExceeded) as excinfo:
        apply_changes(balances, changes)
    assert [p.attr for p in excinfo.value.problems] == ["lines.0.quantity", "lines.2.quantity"]
    assert balances == {1: STOCK_COLUMN_MAX - 1, 2: 0}


def test_a_shortage_is_reported_before_a_change_above_the_ceiling():
    with pytest.raises(InsufficientStock) as excinfo:
        apply_changes({1: 0, 2: STOCK_COLUMN_MAX}, [StockChange(1, -1, attr="a"), StockChange(2, 1, attr="b")])
    assert [p.attr for p in excinfo.value.problems] == ["a"]


def test_stock_limit_exceeded_is_a_400():
    assert StockLimitExceeded.status == 400
    assert StockLimitExceeded.code == "stock_limit_exceeded"


@given(
    balance=st.integers(0, STOCK_COLUMN_MAX),
    delta=st.integers(-(2**40), 2**40).filter(bool),
    ceiling=st.one_of(st.just(MAX_STOCK), st.just(STOCK_COLUMN_MAX), st.integers(0, 2**40)),
)
def test_every_balance_the_rule_accepts_fits_the_stock_column(balance, delta, ceiling):
    try:
        (applied,) = apply_changes({1: balance}, [StockChange(1, delta, ceiling=ceiling)])
    except InsufficientStock:
        assert balance + delta < 0
    except StockLimitExceeded:
        assert delta > 0 and balance + delta > min(ceiling, STOCK_COLUMN_MAX)
    else:
        assert 0 <= applied.balance_after <= STOCK_COLUMN_MAX
        assert delta < 0 or applied.balance_after <= ceiling


# --- Properties ------------------------------------------------------------

PRODUCTS = (1, 2, 3)
deltas = st.integers(min_value=-20, max_value=20).filter(bool)
batches = st.lists(
    st.lists(st.tuples(st.sampled_from(PRODUCTS), deltas), min_size=1, max_size=4),
    max_size=30,
)


@given(initial=st.fixed_dictionaries({p: st.integers(0, 30) for p in PRODUCTS}), batches=batches)
def test_random_batches_keep_every_balance_non_negative_and_the_ledger_summing_to_stock(initial, batches) -> None:
    balances = dict(initial)
    ledger: list[AppliedChange] = []
    for batch in batches:
        changes = [StockChange(pid, d, attr=f"lines.{i}.quantity") for i, (pid, d) in enumerate(batch)]
        before = dict(balances)
        try:
            applied = apply_changes(balances, changes)
        except InsufficientStock as exc:
            # Nothing applied, and every short change is named by its attr.
            assert balances == before
            running = dict(before)
            expected_short = []
            for change in changes:
                after = running[change.product_id] + change.delta
                if after < 0:
                    expected_short.append(change.attr)
                else:
                    running[change.product_id] = after
            assert [p.attr for p in exc.problems] == expected_short
            assert expected_short
            continue
        assert len(applied) == len(changes)
        for change, a in zip(changes, applied, strict=True):
            assert (a.product_id, a.delta) == (change.product_id, change.delta)
            assert a.balance_after == balances[a.product_id] + a.delta  # correct running balance
            assert a.balance_after >= 0
            balances[a.product_id] = a.balance_after
        ledger.extend(applied)

    for pid in PRODUCTS:
        assert balances[pid] >= 0
        assert initial[pid] + sum(a.delta for a in ledger if a.product_id == pid) == balances[pid]


@given(stock=st.integers(0, 50), takes=st.lists(st.integers(1, 60), max_size=10))
def test_a_batch_is_accepted_exactly_when_its_total_fits_in_stock(stock, takes):
    changes = [StockChange(1, -n, attr=f"lines.{i}.quantity") for i, n in enumerate(takes)]
    if sum(takes) <= stock:
        applied = apply_changes({1: stock}, changes)
        assert (applied[-1].balance_after if applied else stock) == stock - sum(takes)
    else:
        with pytest.raises(InsufficientStock):
            apply_changes({1: stock}, changes)
