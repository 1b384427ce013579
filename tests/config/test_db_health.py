"""The PostgreSQL health check: a live idle connection is usable without a
round trip; one the server has ended is found out and replaced before the
request's first query, so the request does not fail — a persistent
connection as one from psycopg's pool."""

import copy
import time

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql import base as django_postgresql
from psycopg_pool import ConnectionPool

from config.db.postgresql.base import DatabaseWrapper
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

    def no_round_trip(self):
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


# --- The same check on connections from psycopg's pool (DATABASE_POOL; the default under gevent) ---


@pytest.fixture
def pooled():
    """A second connection to the test database, taken from psycopg's pool."""
    settings_dict = copy.deepcopy(connection.settings_dict)
    settings_dict["OPTIONS"]["pool"] = {"min_size": 1, "max_size": 1, "timeout": 5}  # one: the one handed back
    settings_dict.update(CONN_MAX_AGE=0, CONN_HEALTH_CHECKS=False)  # as config/settings.py has it with a pool
    wrapper = DatabaseWrapper(settings_dict, alias="pooled")
    yield wrapper
    wrapper.close()
    wrapper.close_pool()


def pooled_pid(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def test_a_quiet_pooled_connection_is_handed_over_without_a_query(pooled, monkeypatch):
    first = pooled_pid(pooled)
    pooled.close()  # back to the pool

    def no_round_trip(conn):
        raise AssertionError("the pool's check was sent")

    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(no_round_trip))
    assert pooled_pid(pooled) == first


def test_a_pooled_connection_the_server_ended_is_replaced_before_the_first_query(pooled):
    old = pooled_pid(pooled)
    pooled.close()  # back to the pool, where the server ends it
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [old])
    time.sleep(0.2)  # the server's goodbye reaches the socket

    assert pooled_pid(pooled) != old  # the request's first query runs on a fresh connection


def test_readiness_checks_the_database_on_a_connection_of_its_own_outside_the_pool(monkeypatch):
    """/readyz must not wait for a pooled connection (all may be busy) nor
    leave a hung one holding a place in the pool."""
    from django.db import connections

    from config.platform import health

    options = connections.settings["default"].setdefault("OPTIONS", {})
    monkeypatch.setitem(options, "pool", {"min_size": 1, "max_size": 1, "timeout": 5})

    def no_pool(self, timeout=None):
        raise AssertionError("the readiness check took a pooled connection")

    monkeypatch.setattr(ConnectionPool, "getconn", no_pool)
    health._database()
