"""Liveness and readiness.

``/healthz`` touches nothing: the process answers. ``/readyz`` checks the
database, the cache and the broker at the same time, each bounded by
``READINESS_TIMEOUT_SECONDS``, so a slow dependency makes a quick 503 rather
than a pile of waiting requests.
"""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import load_backend
from django.http import HttpRequest, JsonResponse

_pool = ThreadPoolExecutor(max_workers=6, thread_name_prefix="readyz")


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database() -> None:
    # A connection of its own, outside any pool (gevent's default), so a
    # hung one is abandoned alone and a busy pool does not fail the check.
    settings_dict = connections.settings[DEFAULT_DB_ALIAS]
    options = {k: v for k, v in settings_dict.get("OPTIONS", {}).items() if k != "pool"}
    wrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper
    connection = wrapper({**settings_dict, "OPTIONS": options}, DEFAULT_DB_ALIAS)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()


def _cache() -> None:
    cache.set("readyz", "1", timeout=5)
    if cache.get("readyz") != "1":
        raise RuntimeError("the cache did not return what was written")


def _broker() -> None:
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        from config.celery import app

        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=settings.READINESS_TIMEOUT_SECONDS)


CHECKS: dict[str, Callable[[], None]] = {"database": _database, "cache": _cache, "broker": _broker}


def readyz(request: HttpRequest) -> JsonResponse:
    timeout = settings.READINESS_TIMEOUT_SECONDS
    futures = {name: _pool.submit(check) for name, check in CHECKS.items()}
    results: dict[str, str] = {}
    for name, future in futures.items():
        try:
            future.result(timeout=timeout)
            results[name] = "ok"
        except FutureTimeout:
            results[name] = f"no answer within {timeout:g}s"
        except Exception as exc:
            results[name] = f"{type(exc).__name__}: {exc}"[:300]
    failing = [name for name, result in results.items() if result != "ok"]
    if not failing:
        return JsonResponse({"status": "ok", "checks": results})
    errors = [{"code": "unavailable", "detail": f"{name}: {results[name]}", "attr": name} for name in failing]
    return JsonResponse({"type": "server_error", "errors": errors, "checks": results}, status=503)
