"""The web process as the contract names it: ``gunicorn config.wsgi``, run
from the project folder exactly so (no ``-c``), behaves as the README's
command (gunicorn reads ./gunicorn.conf.py); probes answer on plain HTTP
while everything else is redirected to HTTPS; and on the embedded default
(no REDIS_URL: cache and rate limits in the process) more than one worker is
refused.

Each test starts real gunicorn processes with a production environment in
which nothing of the test run's leaks (no worker count, bind, metrics folder
or gunicorn arguments of its own)."""

import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.logs import request_lines
from tests.support.services import GUNICORN, REDIS_SERVER, ROOT, RedisServer, free_port, http, server_process, stop

DROPPED = ("DATABASE_", "REDIS_", "CELERY_", "SECURE_", "STATIC_", "EMAIL_", "GUNICORN_", "PROMETHEUS_")


def production_env(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    """A fresh production process's environment. The port is given as
    GUNICORN_CMD_ARGS (which gunicorn reads whatever its settings), so the
    command stays exactly ``gunicorn config.wsgi``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED)}
    for name in ("SECRET_KEY", "DEBUG", "WEB_CONCURRENCY", "BIND", "PORT"):
        env.pop(name, None)
    return {
        **env,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_MANIFEST": "false",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'stockroom.sqlite3'}",
        "GUNICORN_CMD_ARGS": f"--bind=127.0.0.1:{port}",
        **extra,
    }


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    if not Path(REDIS_SERVER).exists() and not shutil.which("redis-server"):
        pytest.skip(f"needs {REDIS_SERVER}: more than one worker needs REDIS_URL")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def responses_by_view(metrics_text: str, view: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    return sum(
        sample.value
        for family in text_string_to_metric_families(metrics_text)
        for sample in family.samples
        if sample.name == "django_http_responses_total_by_status_view_method_total"
        and sample.labels.get("view") == view
    )


def test_gunicorn_config_wsgi_from_the_project_folder_runs_with_the_projects_settings(tmp_path, private_redis):
    """Two workers; /metrics, whichever worker answers it, counts the requests
    both served (a worker's own registry would count only its share)."""
    port = free_port()
    env = production_env(tmp_path, port, REDIS_URL=private_redis.url, WEB_CONCURRENCY="2", SECURE_SSL_REDIRECT="false")
    log = tmp_path / "gunicorn.log"
    assert GUNICORN[1:] == ["-m", "gunicorn", "config.wsgi"]

    with server_process(GUNICORN, env=env, base=f"http://127.0.0.1:{port}", log_path=log) as base:
        # Eight at a time, so that each worker serves some of them.
        with ThreadPoolExecutor(8) as pool:
            answered = list(pool.map(lambda _: http("GET", base + "/readyz").status, range(40)))
        scrapes = [http("GET", base + "/metrics") for _ in range(4)]

    assert answered == [200] * 40
    assert all(scrape.status == 200 for scrape in scrapes)
    assert [responses_by_view(scrape.body, "readyz") for scrape in scrapes] == [40] * 4
    started = log.read_text()
    assert "Using worker: gevent" in started and started.count("Booting worker with pid") == 2, started


def probe(base: str, path: str) -> tuple[int, str]:
    """One plain-HTTP GET that does not follow redirects."""
    url = urlsplit(base)
    assert url.hostname is not None, base
    connection = HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("Location", "")
    finally:
        connection.close()


def test_probes_answer_on_plain_http_while_everything_else_is_redirected_to_https(tmp_path):
    """SECURE_SSL_REDIRECT at its production default (on): the load
    balancer's and Prometheus's requests reach the process directly."""
    port = free_port()
    env = production_env(tmp_path, port)
    with server_process(GUNICORN, env=env, base=f"http://127.0.0.1:{port}", log_path=tmp_path / "gunicorn.log"):
        base = f"http://127.0.0.1:{port}"
        probes = {path: probe(base, path)[0] for path in ("/healthz", "/readyz", "/metrics")}
        others = {
            path: probe(base, path)
            for path in ("/api/v1/products/", "/api/docs/", "/admin/login/", "/healthz/", "/metricsx", "/x/readyz")
        }

    assert probes == {"/healthz": 200, "/readyz": 200, "/metrics": 200}
    assert others == {path: (301, f"https://127.0.0.1:{port}{path}") for path in others}


def test_more_than_one_worker_without_redis_is_refused_with_a_message_naming_redis_url(tmp_path):
    port = free_port()
    for how in ({"WEB_CONCURRENCY": "2"}, {"GUNICORN_CMD_ARGS": f"--bind=127.0.0.1:{port} --workers=3"}):
        env = production_env(tmp_path, port, **how)
        proc = subprocess.Popen(
            GUNICORN, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            stop(proc)
            pytest.fail(f"gunicorn started with {how} and no REDIS_URL")
        assert proc.returncode != 0, out
        assert "without REDIS_URL" in out and "Set REDIS_URL" in out, out
        assert "Booting worker" not in out, out


def test_without_redis_and_without_web_concurrency_one_worker_starts(tmp_path):
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = production_env(tmp_path, port, SECURE_SSL_REDIRECT="false")
    with server_process(GUNICORN, env=env, base=f"http://127.0.0.1:{port}", log_path=log) as base:
        assert http("GET", base + "/healthz").status == 200
        # Every worker is forked before the first one can answer (it loads Django first).
        started = log.read_text()
    assert started.count("Booting worker with pid") == 1, started


REQUEST_LINE_FIELDS = {
    "event", "level", "logger", "timestamp", "request_id", "method", "path", "view", "status", "duration_ms",
    "user_id", "client_ip", "queries",
}  # fmt: skip


def test_at_info_every_request_under_load_writes_its_whole_line_in_order(tmp_path, private_redis):
    """Two gevent workers as deployed, LOG_LEVEL=INFO, sixteen clients at
    once: the log holds exactly one complete JSON line per request, with
    every field and the status the client got, and each client's lines in
    the order it sent them (a line is written before its answer leaves)."""
    port = free_port()
    env = production_env(
        tmp_path, port, REDIS_URL=private_redis.url, WEB_CONCURRENCY="2", SECURE_SSL_REDIRECT="false",
        LOG_LEVEL="INFO", RATE_LIMIT_ANON="1000000/min",
    )  # fmt: skip
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    paths = ["/api/v1/products/?page_size=5", "/api/v1/products/999999/", "/api/v1/nowhere/", "/healthz"]
    clients, per_client = 16, 40
    log = tmp_path / "gunicorn.log"

    def client(number: int) -> list[tuple[str, str, int]]:
        sent = []
        for n in range(per_client):
            request_id, path = f"client{number}-{n}", paths[(number + n) % len(paths)]
            answer = http("GET", base + path, headers={"X-Request-ID": request_id})
            sent.append((request_id, path.split("?")[0], answer.status))
        return sent

    with (
        server_process(GUNICORN, env=env, base=f"http://127.0.0.1:{port}", log_path=log) as base,
        ThreadPoolExecutor(clients) as pool,
    ):
        sent = [request for requests in pool.map(client, range(clients)) for request in requests]
    lines = [line for line in request_lines(log.read_text()) if line["request_id"].startswith("client")]

    assert {status for _, _, status in sent} == {200, 404}
    assert len(lines) == len(sent) == clients * per_client
    assert all(set(line) == REQUEST_LINE_FIELDS for line in lines), lines[:3]
    assert {(line["request_id"], line["path"], line["status"]) for line in lines} == set(sent)
    assert all(
        line["level"] == "info" and line["method"] == "GET" and line["client_ip"] == "127.0.0.1" for line in lines
    )
    assert {line["view"] for line in lines} == {"product-list", "product-detail", "<unresolved>", "healthz"}
    for number in range(clients):
        mine = [
            int(line["request_id"].split("-")[1]) for line in lines if line["request_id"].startswith(f"client{number}-")
        ]
        assert mine == list(range(per_client)), (number, mine)
