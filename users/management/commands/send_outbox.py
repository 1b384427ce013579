"""Deliver pending outbox emails now, in this process (when no worker runs)."""

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand

from users.models import OutboxEmail
from users.outbox import outbox_deliver


class Command(BaseCommand):
    help = "Deliver every pending outbox email synchronously and report what happened."

    def handle(self, *args: Any, **options: Any) -> None:
        ids = list(
            OutboxEmail.objects.filter(status=OutboxEmail.Status.PENDING).order_by("id").values_list("id", flat=True)
        )
        results = Counter(outbox_deliver(email_id=email_id).value for email_id in ids)
        summary = ", ".join(f"{n} {result}" for result, n in sorted(results.items())) or "nothing pending"
        self.stdout.write(f"Outbox: {len(ids)} pending email(s): {summary}.")
