"""The database kit: the PostgreSQL backend with its health check
(``postgresql``), bulk writes and the transaction's unit of work (``bulk``), queries compiled once
(``prepared``) and the gevent glue for psycopg and redis-py (``green``).

The ground floor: imports nothing else of Stockroom. Imported by
``config.api``, ``config.platform``, the settings, and the apps' services;
never imports an app.
"""
