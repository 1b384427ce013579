"""Redis just failed: every user of it in this process leaves it alone for a
few seconds, so no request waits on a down or hung Redis twice.

The read cache, the rate limiter, the admin's sign-in limits and the outbox's
wake-up flag each issue their own commands to Redis; they share only this
memory of its last failure (and each fails safe its own way: the cache
answers from the database, the limits fail open, the outbox publishes the
email by itself).
"""

import time

BACKOFF_SECONDS = 5.0  # after a failure, leave Redis alone this long

_down_until = 0.0


def available() -> bool:
    """Whether Redis may be asked: no failure in the last ``BACKOFF_SECONDS``."""
    return time.monotonic() >= _down_until


def trip() -> None:
    """Redis failed now: leave it alone for ``BACKOFF_SECONDS``."""
    global _down_until
    _down_until = time.monotonic() + BACKOFF_SECONDS


def reset() -> None:
    """Forget a recent failure (tests; an operator after Redis is back)."""
    global _down_until
    _down_until = 0.0
