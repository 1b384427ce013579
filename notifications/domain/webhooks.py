"""What webhooks promise, as values: the events, the API versions, when a
delivery is retried and when it is given up. Pure."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

ORDER_PLACED = "order.placed"
ORDER_STATUS_CHANGED = "order.status_changed"
ORDER_RETURN_RECORDED = "order.return_recorded"
PRODUCT_STOCK_LOW = "product.stock_low"
PING = "ping"

# What an endpoint may subscribe to (ping goes to one endpoint, asked by staff).
EVENT_TYPES = (ORDER_PLACED, ORDER_STATUS_CHANGED, ORDER_RETURN_RECORDED, PRODUCT_STOCK_LOW)

# The shapes of ``data`` there have been, oldest first. An endpoint is pinned
# to the newest when it is created and keeps it: a change to the API's
# representations adds a version here, and what renders an event's data
# (orders.webhooks, inventory.webhooks) keeps rendering the old shape for
# the endpoints pinned to it.
API_VERSIONS = ("2026-12-07",)
CURRENT_API_VERSION = API_VERSIONS[-1]


class Outcome(Enum):
    SUCCEEDED = "succeeded"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Verdict:
    """What an attempt's result makes of its delivery."""

    outcome: Outcome
    next_attempt_at: datetime | None = None


def judge_attempt(
    *, ok: bool, created_at: datetime, now: datetime, retry_for: timedelta, delay_seconds: float
) -> Verdict:
    """A 2xx succeeds. Anything else is retried ``delay_seconds`` from now
    (the caller's backoff with jitter) while the delivery is younger than
    ``retry_for``; the first failure after that fails it for good — so it
    is retried for at least ``retry_for``."""
    if ok:
        return Verdict(Outcome.SUCCEEDED)
    if now - created_at >= retry_for:
        return Verdict(Outcome.FAILED)
    return Verdict(Outcome.RETRY, now + timedelta(seconds=delay_seconds))


def failing_too_long(failing_since: datetime | None, now: datetime, limit: timedelta) -> bool:
    """Whether an endpoint whose deliveries have all failed since
    ``failing_since`` (None: one succeeded last) is to be set inactive."""
    return failing_since is not None and now - failing_since >= limit
