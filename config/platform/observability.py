"""Structured logs with request ids, and the per-request metrics.

- :class:`RequestIdMiddleware` takes ``X-Request-ID`` when it is a sane value
  (else makes one), returns it in the response, and binds it to every log
  line written while the request runs — Celery tasks published by the
  request carry it in a header and bind it again in the worker.
- :class:`RequestLogMiddleware` writes one line per request: method, path,
  view, status, duration, user id, client IP, request id and query count.
  The line goes through structlog's own filtering logger straight to
  stderr, rendered by orjson and written whole by one ``write``: no
  ``LogRecord``, handler or formatter chain, about a third of the CPU of
  the standard library's path (docs/PERFORMANCE.md). Every other line
  (Django's, Celery's, a library's, ours) goes through ``logging``.
- :class:`RequestMetricsMiddleware` counts responses by view, method and
  status and times them by view (django-prometheus's two series for that).
- Logs are JSON in production (``LOG_FORMAT=json``) and readable in
  development (``console``), for Django's, Celery's and our own loggers alike.
"""

import functools
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from celery.signals import before_task_publish, task_postrun, task_prerun
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse
from django_prometheus.middleware import PrometheusAfterMiddleware
from django_prometheus.utils import Time, TimeSince
from prometheus_client import Counter, Histogram
from structlog.typing import Processor

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

REQUEST_LOGGER = "stockroom.request"

LOG_WRITE_FAILURES = Counter(
    "stockroom_log_write_failures_total",
    "Request lines that could not be written (stderr closed, or its reader gone): dropped, the request served.",
)
DB_QUERIES = Histogram(
    "stockroom_db_queries_per_request",
    "Database queries run by one request.",
    ["view"],
    buckets=(0, 1, 2, 3, 5, 8, 13, 21, 50, 100),
)


@functools.cache
def series(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, looked up once per process: the label
    values (view names, methods, statuses) are a bounded set, and
    prometheus_client checks and locks on every ``labels`` call — half the
    cost of the per-request metrics."""
    return metric.labels(*labels)


# --- Logging setup -------------------------------------------------------------

_shared_processors: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]

structlog.configure(
    # filter_by_level first: a line below LOG_LEVEL costs nothing more.
    processors=[
        structlog.stdlib.filter_by_level,
        *_shared_processors,
        structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
    ],
    logger_factory=structlog.stdlib.LoggerFactory(),
    wrapper_class=structlog.stdlib.BoundLogger,
    cache_logger_on_first_use=True,
)


def _json_line(event: dict[str, Any], default: Any = None, **_: Any) -> str:
    """One log line's JSON, by orjson (a line per request: the stdlib's json
    was a percent of a cached page's CPU); what it cannot write goes through
    structlog's ``default`` (its repr). A UTC datetime is written as
    TimeStamper(fmt="iso", utc=True) writes it, ``…T16:32:51.768867Z``."""
    return orjson.dumps(event, default=default, option=orjson.OPT_UTC_Z).decode()


def _stamp_utc(logger: Any, method_name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The time, left to orjson to write: half of TimeStamper's cost, whose
    isoformat() in Python was a tenth of the request line's."""
    event["timestamp"] = datetime.now(UTC)
    return event


def _renderer(fmt: str) -> Processor:
    """What LOG_FORMAT names: one JSON object per line, or readable text."""
    if fmt == "json":
        return structlog.processors.JSONRenderer(serializer=_json_line)
    return structlog.dev.ConsoleRenderer(colors=False)


def formatter(fmt: str = "json") -> logging.Formatter:
    """The logging formatter of settings.LOGGING: every record, from any
    library, rendered as JSON or for the console, with the bound request id."""
    renderer = _renderer(fmt)
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )


# --- Request id --------------------------------------------------------------------


def request_id_from(value: str | None) -> str:
    """The caller's id when it is sane (letters, digits, ``._:-``, ≤ 128), else a new one."""
    if value and _SANE_REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            response = self.get_response(request)
        finally:
            structlog.contextvars.clear_contextvars()
        response[REQUEST_ID_HEADER] = request_id
        return response


# --- One line per request --------------------------------------------------------------


class _LineWriter(structlog.WriteLogger):
    """structlog's WriteLogger that, like ``logging``'s handlers, never fails
    the request it writes for: a line that cannot be written (stderr closed,
    or the pipe's reader gone) is dropped and counted, and the answer goes
    out."""

    def msg(self, message: str) -> None:
        try:
            super().msg(message)
        except (OSError, ValueError):  # ValueError: written to a closed file
            LOG_WRITE_FAILURES.inc()

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg


def request_logger(fmt: str, stream: Any) -> Any:
    """The request line's logger: structlog's filtering bound logger at the
    level ``logging`` gives ``stockroom.request`` (LOG_LEVEL), writing each
    line to ``stream`` with one write and a flush — synchronous, so under
    load a line is never dropped, queued or reordered — with the keys a line
    through ``logging`` carries (level, logger, timestamp, request id)."""
    stamp: Processor = _stamp_utc if fmt == "json" else structlog.processors.TimeStamper(fmt="iso", utc=True)
    return structlog.wrap_logger(
        _LineWriter(stream),
        processors=[structlog.contextvars.merge_contextvars, structlog.processors.add_log_level, stamp, _renderer(fmt)],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLogger(REQUEST_LOGGER).getEffectiveLevel()),
    ).bind(logger=REQUEST_LOGGER)


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        # Imported here, once: this module is imported while logging is
        # configured, before the apps that ratelimit's imports need are ready.
        from config.platform.ratelimit import client_ip

        self.get_response = get_response
        self.client_ip = client_ip
        self.log = request_logger(settings.LOG_FORMAT, sys.stderr)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        queries = 0

        def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            nonlocal queries
            queries += 1
            return execute(sql, params, many, context)

        started = time.perf_counter()
        with connections[DEFAULT_DB_ALIAS].execute_wrapper(count):
            response = self.get_response(request)
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match else "<unresolved>"
        user = getattr(request, "user", None)
        series(DB_QUERIES, view).observe(queries)
        self.log.info(
            "request",
            method=request.method,
            path=request.path,
            view=view,
            status=response.status_code,
            duration_ms=duration_ms,
            user_id=user.pk if user is not None and user.is_authenticated else None,
            client_ip=self.client_ip(request),
            queries=queries,
        )
        return response


# --- Metrics per request ----------------------------------------------------------------


class RequestMetricsMiddleware(PrometheusAfterMiddleware):
    """django-prometheus, recording what the dashboards read: responses by
    view, method and status (request rate, 5xx rate) and the latency
    histogram by view and method (p99), plus exceptions by type and view.

    django-prometheus's pair of middlewares writes some fifteen series per
    request (by transport, by charset, body sizes, totals before and after
    the middleware…); in multiprocess mode each write is a locked update of
    a shared file, about a tenth of the CPU of a cached product page."""

    def process_request(self, request: HttpRequest) -> None:
        request.prometheus_after_middleware_event = Time()  # type: ignore[attr-defined]

    def process_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        return None

    def process_template_response(self, request: HttpRequest, response: Any) -> Any:
        return response

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        method, view = self._method(request), self._get_view_name(request)
        series(self.metrics.responses_by_status_view_method, str(response.status_code), view, method).inc()
        started = getattr(request, "prometheus_after_middleware_event", None)
        if started is not None:
            series(self.metrics.requests_latency_by_view_method, view, method).observe(TimeSince(started))
        return response


# --- Celery: the request id travels with the task ------------------------------------------


@before_task_publish.connect
def _attach_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if request_id and headers is not None:
        headers["request_id"] = request_id


@task_prerun.connect
def _bind_request_id(task: Any = None, **_: Any) -> None:
    """In a worker, log the task's lines under the id of the request that
    queued it. (A task run eagerly inside the request already has it.)"""
    request = getattr(task, "request", None)
    request_id = getattr(request, "request_id", None) or (getattr(request, "headers", None) or {}).get("request_id")
    if request is None or not request_id:
        return
    request.saved_log_context = structlog.contextvars.get_contextvars()
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)


@task_postrun.connect
def _unbind_request_id(task: Any = None, **_: Any) -> None:
    saved = getattr(getattr(task, "request", None), "saved_log_context", None)
    if saved is not None:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(**saved)
