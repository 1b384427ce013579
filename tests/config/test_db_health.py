"""The PostgreSQL health check: a live idle connection is usable without a
round trip; one the server has ended is found out and replaced before the
request's first query, so the request does not fail."""

import time

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql import base as django_postgresql

from tests.conftest import ON_POSTGRES

pytestmark = [
    pytest.mark.skipif(not ON_POSTGRES, reason="needs DATABASE_URL=postgres://… (a PostgreSQL backend to end)"),
    pytest.mark.django_db(transaction=True),
]


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def test_a_live_idle_connection_is_usable_without_a_query(monkeypatch):
    backend_pid()

    def no_round_trip(self):  # type: ignore[no-untyped-def]
        raise AssertionError("SELECT 1 was sent")

    monkeypatch.setattr(django_postgresql.DatabaseWrapper, "is_usable", no_round_trip)
    assert connection.is_usable()


def test_a_connection_the_server_ended_is_replaced_before_the_first_query():
    old = backend_pid()
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [old])
    time.sleep(0.2)  # the server's goodbye reaches the socket
    assert not connection.is_usable()

    # What Django does when a request starts and then runs its first query.
    connection.close_if_unusable_or_obsolete()
    connection.health_check_done = False
    assert backend_pid() != old
