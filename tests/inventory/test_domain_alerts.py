import pytest

from inventory.domain.alerts import stock_low_crossings


@pytest.mark.parametrize(
    ("before", "after", "threshold", "crossed"),
    [
        (6, 4, 5, True),  # from above to below
        (5, 4, 5, True),  # from exactly at it
        (6, 5, 5, False),  # down to it: not below
        (4, 3, 5, False),  # already below: once per crossing
        (4, 6, 5, False),  # rising
        (3, 0, 0, False),  # 0: never
        (1, 0, 1, True),
    ],
)
def test_a_product_crosses_when_its_stock_falls_from_at_or_above_its_threshold_to_below(
    before, after, threshold, crossed
):
    assert stock_low_crossings({7: before}, {7: after}, {7: threshold}) == ([7] if crossed else [])


def test_every_product_that_crossed_in_one_change_is_named_in_id_order():
    before, after = {3: 10, 1: 10, 2: 10}, {3: 1, 1: 2, 2: 9}
    assert stock_low_crossings(before, after, {1: 5, 2: 5, 3: 5}) == [1, 3]
