"""When stock runs low: pure."""

from collections.abc import Mapping


def stock_low_crossings(
    before: Mapping[int, int], after: Mapping[int, int], thresholds: Mapping[int, int]
) -> list[int]:
    """The products whose stock fell from at or above their threshold to
    below it, in id order: once per crossing — stock already below it that
    falls further, or that rises, crosses nothing. A threshold of 0 never
    fires (stock cannot fall below 0)."""
    return sorted(
        pid
        for pid, stock in after.items()
        if (threshold := thresholds.get(pid, 0)) > 0 and before[pid] >= threshold > stock
    )
