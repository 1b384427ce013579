from typing import Any

from django.core.management.base import BaseCommand

from orders.idempotency import idempotency_purge


class Command(BaseCommand):
    help = "Delete Idempotency-Keys older than 24 hours (a periodic task calls the same function)."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = idempotency_purge()
        self.stdout.write(f"Purged {deleted} idempotency key(s) older than 24 hours.")
