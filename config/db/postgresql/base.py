"""Django's PostgreSQL backend, with a health check that needs no round trip.

With ``CONN_HEALTH_CHECKS`` Django checks a reused connection before each
request's first query by sending ``SELECT 1``: a round trip per request, a
quarter of the throughput of a cheap read (docs/PERFORMANCE.md). A
connection that sits idle between requests has nothing to read; when the
server ends it (a restart, a failover, ``pg_terminate_backend``) it says so
and closes the socket, which then reads as ready. So: a socket with nothing
to read is usable, as it is; anything else is settled by a round trip. A
connection cut without a word from the server (a network partition) is no
better found by ``SELECT 1``, which would wait for the socket timeout too.

The same check applies to a connection taken from psycopg's pool
(``DATABASE_POOL``, the default under gevent), where Django's own check
would be a round trip on every request: one the server has ended is
dropped, and the pool hands over another.

Under gevent, psycopg waits for its socket through config.db.green.psycopg_wait.
"""

from django.db.backends.postgresql import base
from psycopg import Connection, pq, waiting
from psycopg_pool import ConnectionPool

from config.db.green import is_green, psycopg_wait, readable_now

if is_green():
    waiting.wait = psycopg_wait  # how every psycopg connection of this process waits for its socket


def _quiet(connection: Connection) -> bool:
    """Idle, and the server has said nothing since: usable without asking."""
    if connection.closed or connection.broken:
        return False
    if connection.info.transaction_status != pq.TransactionStatus.IDLE:
        return False
    return not readable_now(connection.fileno())


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        return _quiet(connection) or bool(super().is_usable())

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        pool = self.pool
        if pool is None:
            return connection
        for _ in range(pool.max_size):  # after a restart each idle one may be dead
            if _quiet(connection):
                return connection
            try:
                ConnectionPool.check_connection(connection)
            except Exception:
                connection.close()
                pool.putconn(connection)  # the pool drops it and opens another
                connection = super().get_new_connection(conn_params)
            else:
                return connection
        return connection
