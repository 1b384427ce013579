"""Celery tasks of accounts."""

from celery import shared_task


@shared_task(ignore_result=True)
def jwt_flush_expired_task() -> None:
    """Delete expired JWT outstanding tokens, and their blacklist rows with
    them, by simplejwt's own ``flushexpiredtokens`` command (Celery beat, daily)."""
    from django.core.management import call_command

    call_command("flushexpiredtokens")
