"""The ledger rule, pure: no database (these tests do not request ``db``, so
pytest-django would refuse any query, which proves the rule is pure)."""

from dataclasses import FrozenInstanceError

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inventory.domain.ledger import AppliedChange, StockChange, apply_changes
from inventory.errors import InsufficientStock


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
        change.delta = 2  # type: ignore[misc]
    applied = apply_changes({1: 0}, [change])
    assert isinstance(applied, tuple)
    with pytest.raises(FrozenInstanceError):
        applied[0].balance_after = 9  # type: ignore[misc]


# --- Properties ------------------------------------------------------------

PRODUCTS = (1, 2, 3)
deltas = st.integers(min_value=-20, max_value=20).filter(bool)
batches = st.lists(
    st.lists(st.tuples(st.sampled_from(PRODUCTS), deltas), min_size=1, max_size=4),
    max_size=30,
)


@given(initial=st.fixed_dictionaries({p: st.integers(0, 30) for p in PRODUCTS}), batches=batches)
def test_random_batches_keep_every_balance_non_negative_and_the_ledger_summing_to_stock(initial, batches):
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
