"""gunicorn settings for Stockroom. gunicorn reads ``gunicorn.conf.py`` from the
folder it starts in, so ``gunicorn config.wsgi`` run from the project folder,
exactly as the contract writes it, runs with these (no ``-c``). Settings given
on the command line or in GUNICORN_CMD_ARGS override them.

Workers come from WEB_CONCURRENCY. With REDIS_URL the default is one per CPU
(2 × CPUs + 1 for the sync and gthread classes). Each worker is a separate
process with its own connections; everything they share (sessions, cache,
rate limits, locks) lives in PostgreSQL or Redis. Without REDIS_URL (the
embedded default) the read cache and the rate limits live in the process:
there is one worker, and more than one is refused (see on_starting).

The worker class is gevent (GUNICORN_WORKER_CLASS; "sync", or "gthread" with
GUNICORN_THREADS, are the others): a worker serves up to
GUNICORN_WORKER_CONNECTIONS client connections, each in a greenlet, and runs
one while the others wait on PostgreSQL or Redis — a sync worker sits idle
then (docs/PERFORMANCE.md). Under gevent the settings take database
connections from psycopg's pool (config/db/green.py).
"""

import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import environ

# The same .env that config/settings.py reads: REDIS_URL or WEB_CONCURRENCY
# set there count here too.
if (Path(__file__).resolve().parent / ".env").is_file():
    environ.Env.read_env(Path(__file__).resolve().parent / ".env")

bind = os.environ.get("BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gevent")
_cpus = multiprocessing.cpu_count()
_shared_state = bool(os.environ.get("REDIS_URL"))
_per_machine = _cpus if worker_class == "gevent" else _cpus * 2 + 1
workers = int(os.environ.get("WEB_CONCURRENCY", _per_machine if _shared_state else 1))
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "100"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))  # gthread only
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
accesslog = None  # the app writes one structured line per request
errorlog = "-"
preload_app = False
# gunicorn's control socket (gunicornc: change the worker count, reload) sits
# at one path per user, so every gunicorn on a host would take it over from
# the last; nothing here uses it, and a process manager does its jobs.
control_socket_disable = True

ONE_PROCESS_ONLY = (
    "Stockroom refuses to start {workers} web workers without REDIS_URL: on the embedded default the read "
    "cache and the rate limits live in each process, so a second process would serve product pages up to "
    "5 minutes stale and multiply every rate limit. Set REDIS_URL (shared by every process), or run one "
    "worker (WEB_CONCURRENCY=1, or leave it unset)."
)

# Prometheus multiprocess mode: every worker writes its metrics to files in
# this folder and /metrics adds them up.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="stockroom-prometheus-")
_metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]


def on_starting(server: Any) -> None:
    shutil.rmtree(_metrics_dir, ignore_errors=True)  # the last run's files (or, if refused, the folder)
    # server.cfg holds the final count, whether it came from WEB_CONCURRENCY,
    # the command line (-w) or GUNICORN_CMD_ARGS.
    if server.cfg.workers > 1 and not _shared_state:
        raise SystemExit(ONE_PROCESS_ONLY.format(workers=server.cfg.workers))
    os.makedirs(_metrics_dir, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


# Python collects its young generation every 700 net allocations of
# container objects: several times per request here, each walking every young
# object still alive (a request's are freed by reference counting anyway).
# Every 20,000 it takes 3–6 % less of a worker's CPU per order; at 100,000 the
# p99 got worse (docs/PERFORMANCE.md).
YOUNG_COLLECTION_THRESHOLD = 20_000


def post_worker_init(worker: Any) -> None:
    """The application is loaded: import every view now (through the URL
    resolver) rather than at the first request, then move every object that
    exists to the garbage collector's permanent generation (``gc.freeze``).
    They live as long as the worker; the full collections that came every
    thousand-odd orders no longer walk the ~120,000 of them (about 50 ms
    each, in the middle of a request). Then the young generation is
    collected every YOUNG_COLLECTION_THRESHOLD allocations instead of
    Python's 700 (docs/PERFORMANCE.md)."""
    import gc

    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 — imports every app's views
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD)
