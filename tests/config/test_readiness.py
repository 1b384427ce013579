"""/readyz names what failed and nothing more, and stays cheap and bounded
however many probes arrive: one check of each dependency at a time per
process, a result reused for a second, and a quick answer while a
dependency hangs."""

import json
import logging
import threading
import time

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.test import Client

from config.platform import health
from tests.support.services import HungServer, free_port, publishing_to

pytestmark = pytest.mark.django_db

SECRET_USER = "readyz_secret_user"


@pytest.fixture(autouse=True)
def fresh_readiness():
    """No result of another test's checks is reused, before or after."""
    health.forget()
    yield
    health.forget()


def readyz() -> tuple[int, dict, float]:
    started = time.monotonic()
    response = Client().get("/readyz")
    return response.status_code, json.loads(response.content), time.monotonic() - started


def concurrently(n: int) -> list[tuple[int, dict, float]]:
    answers: list[tuple[int, dict, float]] = []
    threads = [threading.Thread(target=lambda: answers.append(readyz())) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(answers) == n
    return answers


def unavailable(name: str) -> dict:
    """The whole 503 body when only ``name`` fails: its name, nothing else."""
    checks = {dependency: "unavailable" if dependency == name else "ok" for dependency in health.CHECKS}
    return {
        "type": "server_error",
        "errors": [{"code": "unavailable", "detail": f"{name} is unavailable.", "attr": name}],
        "checks": checks,
    }


def test_a_failed_check_is_named_without_host_port_user_or_error_text(monkeypatch, caplog):
    port = free_port()  # nothing listens there
    database = {
        **connections.settings[DEFAULT_DB_ALIAS],
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "stockroom",
        "USER": SECRET_USER,
        "PASSWORD": "",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "OPTIONS": {},
    }
    monkeypatch.setitem(connections.settings, DEFAULT_DB_ALIAS, database)

    with caplog.at_level(logging.WARNING, logger="config.platform.health"):
        status, body, _ = readyz()

    assert status == 503
    assert body == unavailable("database")
    text = json.dumps(body)
    assert str(port) not in text and "127.0.0.1" not in text and SECRET_USER not in text
    assert str(port) in caplog.text  # the detail is for the operator's log


def test_a_hung_broker_is_named_and_many_probes_open_one_connection_to_it(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # the broker is checked
    settings.READINESS_TIMEOUT_SECONDS = 1.0
    hung = HungServer()
    try:
        with publishing_to(f"amqp://guest:guest@127.0.0.1:{hung.port}//"):
            answers = concurrently(40)
            connections_during = len(hung.accepted)
            checks_running = [t.name for t in threading.enumerate() if t.name.startswith("readyz")]
            started = time.monotonic()
            later = [readyz() for _ in range(5)]  # the check is older than its bound now
            later_elapsed = time.monotonic() - started
            connections_after = len(hung.accepted)
    finally:
        hung.close()

    assert {status for status, _, _ in answers + later} == {503}
    assert all(body == unavailable("broker") for _, body, _ in answers + later)
    assert max(elapsed for *_, elapsed in answers) < 2.5  # the bound (1 s), and some room for 40 threads
    assert later_elapsed < 1.0  # answered at once, not one bound each
    assert connections_during <= 2 and connections_after <= 2, (connections_during, connections_after)
    assert checks_running in ([], ["readyz-broker"])  # at most the one check


def test_probes_in_quick_succession_share_one_check_of_each_dependency(monkeypatch):
    calls = {name: 0 for name in health.CHECKS}

    def counting(name, check):
        def run() -> None:
            calls[name] += 1
            check()

        return run

    for name, check in list(health.CHECKS.items()):
        monkeypatch.setitem(health.CHECKS, name, counting(name, check))

    answers = [readyz() for _ in range(20)]

    assert {status for status, _, _ in answers} == {200}
    assert calls == {name: 1 for name in health.CHECKS}


def test_concurrent_probes_hold_one_database_connection_at_a_time(monkeypatch):
    real = health.CHECKS["database"]
    open_now, most = 0, 0
    lock = threading.Lock()

    def slow_database() -> None:
        nonlocal open_now, most
        with lock:
            open_now += 1
            most = max(most, open_now)
        try:
            time.sleep(0.3)  # a slow database: probes pile up behind the check
            real()
        finally:
            with lock:
                open_now -= 1

    monkeypatch.setitem(health.CHECKS, "database", slow_database)

    answers = concurrently(20)

    assert {status for status, _, _ in answers} == {200}
    assert most == 1


def test_a_dependency_back_is_ready_again_after_the_reuse_interval(monkeypatch):
    down = True

    def flaky_cache() -> None:
        if down:
            raise ConnectionError("redis://:hunter2@10.0.0.7:6379 refused")

    monkeypatch.setitem(health.CHECKS, "cache", flaky_cache)
    status, body, _ = readyz()
    assert (status, body) == (503, unavailable("cache"))
    assert "hunter2" not in json.dumps(body)

    down = False
    time.sleep(health.FRESH_SECONDS + 0.1)

    status, body, _ = readyz()
    assert status == 200, body


def test_a_gevent_worker_under_many_probes_opens_one_connection_to_a_hung_broker(tmp_path) -> None:
    """As deployed (gunicorn.conf.py, one gevent worker): 50 probes at once
    against a broker that accepts and never answers."""
    from tests.config.test_deploy import get, gunicorn

    hung = HungServer()
    try:
        env = {"CELERY_BROKER_URL": f"amqp://guest:guest@127.0.0.1:{hung.port}//", "READINESS_TIMEOUT_SECONDS": "1"}
        with gunicorn(tmp_path, **env) as base:
            answers: list[tuple[int, bytes, float]] = []

            def probe() -> None:
                started = time.monotonic()
                status, body = get(base + "/readyz")
                answers.append((status, body, time.monotonic() - started))

            threads = [threading.Thread(target=probe) for _ in range(50)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            accepted = len(hung.accepted)
    finally:
        hung.close()

    assert len(answers) == 50
    assert {status for status, _, _ in answers} == {503}
    assert all(json.loads(body) == unavailable("broker") for _, body, _ in answers)
    assert max(elapsed for *_, elapsed in answers) < 4
    assert accepted <= 2, accepted
