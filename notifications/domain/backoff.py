"""When to try a failed email again: exponential backoff with full jitter. Pure."""

from random import Random

# 2**62 seconds outgrows any cap; the exponent stops there, so an email tried
# for years still computes its delay without a number of ever more digits.
_MAX_EXPONENT = 62


def retry_delay(attempt: int, *, base: float, cap: float, rng: Random) -> float:
    """Seconds to wait after the ``attempt``-th failure (1-based): a random
    value in [base, min(cap, base × 2^(attempt-1))], so retries of many rows
    spread out instead of arriving together."""
    if attempt < 1:
        raise ValueError("attempt is 1-based")
    ceiling = min(cap, base * 2 ** min(attempt - 1, _MAX_EXPONENT))
    return rng.uniform(base, max(base, ceiling))
