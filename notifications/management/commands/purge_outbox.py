"""Delete old sent emails from the outbox (Celery beat also runs it daily)."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from notifications.services import outbox_purge_sent


class Command(BaseCommand):
    help = "Delete outbox emails sent more than --days days ago (default OUTBOX_KEEP_SENT_DAYS, 30). Failed and pending emails are kept."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="keep sent emails this many days (at least 1)")

    def handle(self, *args: Any, days: int | None, **options: Any) -> None:
        days = settings.OUTBOX_KEEP_SENT_DAYS if days is None else days
        if days < 1:
            self.stderr.write("--days must be at least 1.")
            raise SystemExit(2)
        deleted = outbox_purge_sent(older_than=timedelta(days=days))
        self.stdout.write(f"Outbox: deleted {deleted} email(s) sent more than {days} day(s) ago.")
