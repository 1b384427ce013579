"""Django's PostgreSQL backend, with a health check that needs no round trip.

With ``CONN_HEALTH_CHECKS`` Django checks a reused connection before each
request's first query by sending ``SELECT 1``: a round trip per request, a
quarter of the throughput of a cheap read (docs/PERFORMANCE.md). A
connection that sits idle between requests has nothing to read; when the
server ends it (a restart, a failover, ``pg_terminate_backend``) it says so
and closes the socket, which then reads as ready. So: a socket with nothing
to read is usable, as it is; anything else is settled by Django's own
``SELECT 1``. A connection cut without a word from the server (a network
partition) is no better found by ``SELECT 1``, which would wait for the
socket timeout too.
"""

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if connection.info.transaction_status == pq.TransactionStatus.IDLE:
            readable, _, _ = select.select([connection.fileno()], [], [], 0)
            if not readable:
                return True
        return bool(super().is_usable())
