"""The outbox's gauge in /metrics, read from the database at scrape time."""

import logging
from collections.abc import Iterator

from django.db import DatabaseError
from django.db.models import Count, Q
from prometheus_client.core import GaugeMetricFamily

from notifications.models import OutboxEmail

logger = logging.getLogger(__name__)


class OutboxCollector:
    """Outbox emails waiting (pending; retrying: pending after a failure) and
    failed for good (the sent ones, most of the table, are not counted)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
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


class WebhookCollector:
    """Webhook deliveries by event type and status (the table keeps 30 days),
    and the age of the oldest pending one: how far behind the receivers are."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.utils import timezone

        from notifications.models import WebhookDelivery

        by_status = GaugeMetricFamily(
            "stockroom_webhook_deliveries",
            "Webhook deliveries kept (WEBHOOK_KEEP_DAYS), by event type and status.",
            labels=["event_type", "status"],
        )
        oldest = GaugeMetricFamily(
            "stockroom_webhook_oldest_pending_seconds", "Age of the oldest pending webhook delivery (0: none)."
        )
        try:
            counts = list(
                WebhookDelivery.objects.order_by().values_list("event_type", "status").annotate(count=Count("id"))
            )
            first = (
                WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING)
                .order_by("created_at")
                .values_list("created_at", flat=True)
                .first()
            )
        except DatabaseError as exc:  # the database is down: /metrics still answers
            logger.warning("could not count webhook deliveries: %s", exc)
            yield by_status
            yield oldest
            return
        for event_type, status, count in counts:
            by_status.add_metric([event_type, status], count)
        oldest.add_metric([], 0 if first is None else max(0.0, (timezone.now() - first).total_seconds()))
        yield by_status
        yield oldest
