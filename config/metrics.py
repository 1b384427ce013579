"""Prometheus metrics of Stockroom's own, and the /metrics endpoint.

django-prometheus counts requests by view, method and status and times them;
config.observability counts database queries per request; the counters
below count what the business and the operators care about. With several
gunicorn processes, set ``PROMETHEUS_MULTIPROC_DIR`` (gunicorn.conf.py
does) and /metrics adds up every process.
"""

import logging
import os
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from config.errors_handler import envelope
from config.network import address_in

logger = logging.getLogger(__name__)

CACHE_REQUESTS = Counter("stockroom_cache_requests_total", "Read-cache lookups by result.", ["result"])
RATE_LIMITED = Counter("stockroom_rate_limit_rejections_total", "Requests refused with 429, by limit.", ["scope"])
LIMITER_FAILURES = Counter("stockroom_rate_limiter_failures_total", "Requests served unlimited: the store failed.")
ORDERS_PLACED = Counter("stockroom_orders_placed_total", "Orders placed (committed).")
ORDERS_CANCELLED = Counter("stockroom_orders_cancelled_total", "Orders cancelled (committed).")
ADMIN_LOGIN_FAILURES = Counter(
    "stockroom_admin_login_failures_total",
    "Refused sign-ins to the admin: bad_credentials (a wrong email or password, or an account that may not"
    " use the admin) or locked (refused unchecked: too many failures).",
    ["reason"],
)
for _reason in ("bad_credentials", "locked"):
    ADMIN_LOGIN_FAILURES.labels(_reason)  # both series from the start, at 0


class OutboxCollector:
    """Outbox emails waiting (pending; retrying: pending after a failure) and
    failed for good, read from the database at scrape time (the sent ones,
    most of the table, are not counted)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.db.models import Count, Q

        from users.models import OutboxEmail

        pending, failed = OutboxEmail.Status.PENDING, OutboxEmail.Status.FAILED
        gauge = GaugeMetricFamily("stockroom_outbox_emails", "Outbox emails by status.", labels=["status"])
        try:
            counts = OutboxEmail.objects.filter(status__in=[pending, failed]).aggregate(
                pending=Count("id", filter=Q(status=pending)),
                retrying=Count("id", filter=Q(status=pending, attempts__gt=0)),
                failed=Count("id", filter=Q(status=failed)),
            )
        except DatabaseError as exc:  # the database is down: /metrics still answers
            logger.warning("could not count outbox emails: %s", exc)
            yield gauge
            return
        for status, count in counts.items():
            gauge.add_metric([status], count)
        yield gauge


_outbox_registry = CollectorRegistry(auto_describe=False)
_outbox_registry.register(OutboxCollector())  # type: ignore[arg-type]


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
    body = generate_latest(registry) + generate_latest(_outbox_registry)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
