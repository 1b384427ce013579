"""Deliver pending outbox emails now, in this process (when no worker runs)."""

from typing import Any

from django.core.management.base import BaseCommand

from notifications.services import outbox_deliver_all


class Command(BaseCommand):
    help = "Deliver every pending outbox email synchronously, whatever its retry time, and report what happened."

    def handle(self, *args: Any, **options: Any) -> None:
        results = outbox_deliver_all()
        summary = ", ".join(
            f"{n} {result.value}" for result, n in sorted(results.items(), key=lambda r: r[0].value) if n
        )
        self.stdout.write(f"Outbox: {sum(results.values())} pending email(s): {summary or 'nothing pending'}.")
