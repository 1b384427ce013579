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
