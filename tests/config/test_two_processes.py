"""Two real server processes sharing PostgreSQL and Redis, as gunicorn workers
behind a load balancer do: a write through one is read through the other at
once, and the auth limit holds across both, even under concurrency."""

import os
import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from django_redis import get_redis_connection
from rest_framework_simplejwt.tokens import RefreshToken

from config.platform import ratelimit
from tests.config.helpers import TOKEN, assert_throttled, product_url, rate_headers, token_body
from tests.conftest import requires_postgres
from tests.factories import DEFAULT_PASSWORD, UserFactory, make_product
from tests.support.services import free_port, http, runserver_process

pytestmark = [
    requires_postgres,
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL"),
        reason="needs REDIS_URL (CI sets it): the two servers share their cache and limits through Redis",
    ),
    pytest.mark.django_db(transaction=True),
]

SERVER_ENV = {
    "REDIS_URL": os.environ.get("REDIS_URL", ""),
    "DEBUG": "false",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "RATE_LIMIT_AUTH": "5/min",
    "CELERY_BROKER_URL": None,  # unset: tasks run eagerly in the server
    "TRUSTED_PROXIES": None,
}


@pytest.fixture
def servers(tmp_path) -> Iterator[tuple[str, str]]:
    with (
        runserver_process(port=free_port(), env=SERVER_ENV, tmp_path=tmp_path) as a,
        runserver_process(port=free_port(), env=SERVER_ENV, tmp_path=tmp_path) as b,
    ):
        yield a, b


def test_two_servers_share_the_cache_and_the_auth_limit(servers) -> None:
    a, b = servers
    staff = UserFactory.create(is_staff=True)
    token = str(RefreshToken.for_user(staff).access_token)
    product = make_product(price="10.00", stock=5)
    detail = product_url(product.id)

    # (a) A price change through A is seen through B at once, though B cached the old one.
    assert http("GET", b + detail).body["price"] == "10.00"
    assert get_redis_connection("default").keys("stockroom:*catalog:*"), "B did not cache the product"
    assert http("GET", b + detail).body["price"] == "10.00"
    patched = http("PATCH", a + detail, {"price": "12.34"}, token=token)
    assert patched.status == 200, patched.body
    assert http("GET", b + detail).body["price"] == "12.34"
    assert http("GET", a + detail).body["price"] == "12.34"

    # (b) Token requests alternating between A and B spend one budget of 5.
    ratelimit.store().clear()
    body = token_body(staff.email, DEFAULT_PASSWORD)
    answers = [http("POST", (a, b)[n % 2] + TOKEN, body) for n in range(6)]
    assert [r.status for r in answers[:5]] == [200] * 5, [r.body for r in answers]
    assert [rate_headers(r.headers)[:2] for r in answers[:5]] == [(5, 4), (5, 3), (5, 2), (5, 1), (5, 0)]
    sixth = answers[5]
    assert_throttled(sixth.status, sixth.headers, sixth.body, limit=5, period=60)

    # (c) 50 concurrent token requests split over both servers let at most 5 through.
    ratelimit.store().clear()
    barrier = threading.Barrier(50)
    statuses: list[int | str] = []
    lock = threading.Lock()

    def attempt(base: str) -> None:
        outcome: int | str
        try:
            barrier.wait(timeout=30)
            # A resent request can only spend more of the budget, never less.
            outcome = http("POST", base + TOKEN, body, timeout=60, resend_if_reset=5).status
        except Exception as exc:  # reported in the assertion below, not lost with the thread
            outcome = repr(exc)
        with lock:
            statuses.append(outcome)

    threads = [threading.Thread(target=attempt, args=((a, b)[n % 2],)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)

    counts = Counter(statuses)
    assert sum(counts.values()) == 50
    assert set(counts) <= {200, 429}, counts
    assert 1 <= counts[200] <= 5, counts
