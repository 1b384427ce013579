"""Expired JWT outstanding tokens (and their blacklist rows) are purged on a
schedule, by simplejwt's own ``flushexpiredtokens``: live ones stay."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from config.celery import app
from tests.factories import UserFactory
from users.tasks import jwt_flush_expired_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def tokens() -> dict[str, OutstandingToken]:
    """Two live refresh tokens (one blacklisted, as a logout leaves it) and
    two that expired (one blacklisted)."""
    user = UserFactory.create()
    made = {}
    for name in ("live", "live-blacklisted", "expired", "expired-blacklisted"):
        token = RefreshToken.for_user(user)
        row = OutstandingToken.objects.get(jti=token["jti"])
        if name.startswith("expired"):
            row.expires_at = timezone.now() - timedelta(seconds=1)
            row.save(update_fields=["expires_at"])
        if name.endswith("blacklisted"):
            BlacklistedToken.objects.create(token=row)
        made[name] = row
    return made


def left(tokens: dict[str, OutstandingToken]) -> tuple[set[str], set[str]]:
    ids = {row.id: name for name, row in tokens.items()}
    outstanding = {ids[i] for i in OutstandingToken.objects.filter(id__in=ids).values_list("id", flat=True)}
    blacklisted = {ids[i] for i in BlacklistedToken.objects.filter(token_id__in=ids).values_list("token_id", flat=True)}
    return outstanding, blacklisted


def test_the_command_deletes_expired_tokens_and_their_blacklist_rows_only(tokens):
    call_command("flushexpiredtokens")
    assert left(tokens) == ({"live", "live-blacklisted"}, {"live-blacklisted"})


def test_the_scheduled_task_does_the_same(tokens):
    jwt_flush_expired_task.delay()  # run in-process (tests run tasks eagerly)
    assert left(tokens) == ({"live", "live-blacklisted"}, {"live-blacklisted"})


def test_celery_beat_runs_the_task_daily():
    (entry,) = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == jwt_flush_expired_task.name]
    assert entry["schedule"] == 86400.0
    assert jwt_flush_expired_task.name in app.tasks
