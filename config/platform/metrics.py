"""Prometheus metrics of Stockroom's own, and the /metrics endpoint.

django-prometheus counts requests by view, method and status and times them;
config.platform.observability counts database queries per request; the counters
below count what the business and the operators care about; an app adds
what it reads from the database at scrape time to :data:`SCRAPED`. With several
gunicorn processes, set ``PROMETHEUS_MULTIPROC_DIR`` (gunicorn.conf.py
does) and /metrics adds up every process.
"""

import logging
import os
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from config.api.errors_handler import envelope
from config.platform.network import address_in

logger = logging.getLogger(__name__)

CACHE_REQUESTS = Counter("stockroom_cache_requests_total", "Read-cache lookups by result.", ["result"])
RATE_LIMITED = Counter("stockroom_rate_limit_rejections_total", "Requests refused with 429, by limit.", ["scope"])
LIMITER_FAILURES = Counter("stockroom_rate_limiter_failures_total", "Requests served unlimited: the store failed.")
ORDERS_PLACED = Counter("stockroom_orders_placed_total", "Orders placed (committed).")
ORDERS_CANCELLED = Counter("stockroom_orders_cancelled_total", "Orders cancelled (committed).")
ORDERS_EXPIRED = Counter("stockroom_orders_expired_total", "Unpaid orders expired (committed).")
ORDER_RETURNS = Counter("stockroom_order_returns_total", "Returns recorded (committed).")
REFUNDED = Counter(
    "stockroom_refunded_total", "Refunds owed for returns recorded (committed), in the currency's units."
)
ADMIN_LOGIN_FAILURES = Counter(
    "stockroom_admin_login_failures_total",
    "Refused sign-ins to the admin: bad_credentials (a wrong email or password, or an account that may not"
    " use the admin) or locked (refused unchecked: too many failures).",
    ["reason"],
)
for _reason in ("bad_credentials", "locked"):
    ADMIN_LOGIN_FAILURES.labels(_reason)  # both series from the start, at 0


# Collectors read at scrape time by the process that answers: the apps
# register theirs (each reads the database, which every process shares).
SCRAPED = CollectorRegistry(auto_describe=False)


def _allowed(address: str) -> bool:
    return address_in(address, settings.METRICS_ALLOWED_IPS)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text, for the addresses in ``METRICS_ALLOWED_IPS`` only."""
    if not _allowed(request.META.get("REMOTE_ADDR", "")):
        return envelope(403, "permission_denied", "Metrics are not available from this address.")
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry: Any = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    body = generate_latest(registry) + generate_latest(SCRAPED)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
