"""The services every process shares at run time, most of them backed by
Redis: the read cache (``read_cache``, named apart from Django's ``cache``),
the rate limiter, the memory of Redis's last failure that they share
(``breaker``; each issues its own commands), background publishing to the Celery broker, logging and
request ids, Prometheus metrics, health and readiness, the middleware that
sets the admin's apart from the API, and the development secret key.

May import: ``config.api``, ``config.db``, ``config.celery`` (and Django, DRF,
redis-py, Celery). Imported by the apps' services and views; never imports an
app: an app registers what it adds (a metrics collector) itself.
"""
