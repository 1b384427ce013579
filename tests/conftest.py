"""Shared fixtures: API clients signed in as each kind of user, and factories."""

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import UserFactory
from tests.support.services import SmtpSink
from users.models import User

ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
requires_postgres = pytest.mark.skipif(
    not ON_POSTGRES, reason="needs DATABASE_URL=postgres://… (row locks and real threads; SQLite cannot prove this)"
)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """With STOCKROOM_NO_SKIPS=1 (CI with services) a skipped test fails the run."""
    skipped = terminalreporter.stats.get("skipped", [])
    if os.environ.get("STOCKROOM_NO_SKIPS") == "1" and skipped:
        terminalreporter.write_line(f"FAIL: {len(skipped)} test(s) skipped while STOCKROOM_NO_SKIPS=1", red=True)
        for report in skipped:
            terminalreporter.write_line(f"  skipped: {report.nodeid} {report.longrepr}")
        config._stockroom_skips_failed = True


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("STOCKROOM_NO_SKIPS") == "1":
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter and reporter.stats.get("skipped"):
            session.exitstatus = 1


def bearer(client: APIClient, user: User) -> APIClient:
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


@pytest.fixture
def customer(db: None) -> User:
    return UserFactory.create()


@pytest.fixture
def other_customer(db: None) -> User:
    return UserFactory.create()


@pytest.fixture
def staff(db: None) -> User:
    return UserFactory.create(is_staff=True)


@pytest.fixture
def superuser(db: None) -> User:
    return UserFactory.create(is_staff=True, is_superuser=True)


@pytest.fixture
def client_for() -> Callable[[User], APIClient]:
    return lambda user: bearer(APIClient(), user)


@pytest.fixture
def customer_api(customer: User) -> APIClient:
    return bearer(APIClient(), customer)


@pytest.fixture
def other_api(other_customer: User) -> APIClient:
    return bearer(APIClient(), other_customer)


@pytest.fixture
def staff_api(staff: User) -> APIClient:
    return bearer(APIClient(), staff)


@pytest.fixture
def superuser_api(superuser: User) -> APIClient:
    return bearer(APIClient(), superuser)


@pytest.fixture(autouse=True)
def eager_tasks():
    """Run Celery tasks in-process in every test, even when CELERY_BROKER_URL
    points at a real broker; tests of the real worker opt out explicitly."""
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture(autouse=True)
def fresh_cache_and_limits():
    """Each test starts with an empty cache and untouched rate limits (in Redis
    too, when REDIS_URL is set), so no test spends another's budget."""
    from django.core.cache import cache

    from config.platform import ratelimit, read_cache
    from notifications import services as outbox

    cache.clear()
    read_cache._changed.depths.clear()  # a test's own transaction never commits
    outbox._flag_in_doubt = False  # the flag is gone with the cache
    ratelimit.store().clear()
    yield


@pytest.fixture(autouse=True)
def test_sized_password_hashing(settings):
    """Production's hasher (Argon2) with test-sized costs; see tests/support/hashers.py."""
    settings.PASSWORD_HASHERS = ["tests.support.hashers.TestSizedArgon2PasswordHasher", *settings.PASSWORD_HASHERS]


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) on a free port, collecting what it is sent."""
    server = SmtpSink()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def queue(settings) -> Iterator[str]:
    """A queue of this test's own on the shared broker, real publishing, and
    the queue deleted afterwards."""
    from kombu import Queue

    from config.celery import app

    name = f"stockroom-test-{uuid.uuid4().hex[:12]}"
    webhooks = f"{name}-webhooks"  # as settings name a queue's webhook queue
    before = (app.conf.task_default_queue, app.conf.task_always_eager)
    app.conf.task_default_queue, app.conf.task_always_eager = name, False
    settings.CELERY_WEBHOOK_QUEUE = webhooks  # config.celery.route_task reads it at each publish
    settings.OUTBOX_REDISPATCH_SECONDS = 0  # rows are due for the dispatcher at once
    yield name
    app.conf.task_default_queue, app.conf.task_always_eager = before
    with app.connection_for_write() as connection:  # leave the shared broker as it was
        for queue_name in (name, webhooks):
            Queue(queue_name, channel=connection.default_channel).delete()
