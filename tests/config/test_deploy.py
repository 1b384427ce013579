"""Production settings, readiness against dead dependencies, the deployment
files, and the whole stack under honcho."""

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from tests.conftest import ON_POSTGRES
from tests.support.services import (
    GUNICORN,
    ROOT,
    HungServer,
    SmtpSink,
    database_url_for_children,
    free_port,
    server_process,
    wait_for,
)

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "stockroom.example.com",
}


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a fresh production process: none of the test run's
    overrides (SQLite, no SSL redirect, no manifest)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "REDIS_", "CELERY_", "SECURE_", "STATIC_", "EMAIL_"))
    }
    env.pop("SECRET_KEY", None)
    env.pop("DEBUG", None)
    return {**env, **extra}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=clean_env(**PRODUCTION_ENV))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_refuses_to_start_without_a_secret_key_when_not_debugging():
    result = manage("check", env=clean_env(DEBUG="false"))
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_mode_shows_no_debug_page_or_traceback(client, settings):
    settings.DEBUG = False
    r = client.get("/api/v1/does-not-exist/")
    assert r.status_code == 404
    assert r.json()["errors"][0]["code"] == "not_found"
    assert b"Traceback" not in r.content and b"URLconf" not in r.content


@pytest.mark.django_db
def test_cors_is_closed_by_default(client):
    r = client.options(
        "/api/v1/products/", HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )
    assert "access-control-allow-origin" not in {k.lower() for k in r.headers}


@pytest.mark.django_db
def test_cors_allows_a_configured_origin(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://shop.example"]
    r = client.get("/api/v1/products/", HTTP_ORIGIN="https://shop.example")
    assert r["Access-Control-Allow-Origin"] == "https://shop.example"


# --- /readyz against dependencies that are down or hung, in a real gunicorn ------------------


@contextmanager
def gunicorn(tmp_path: Path, **env: str) -> Iterator[str]:
    port = free_port()
    defaults = {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "STATIC_MANIFEST": "false",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'ready.sqlite3'}",
        "WEB_CONCURRENCY": "1",
        "BIND": f"127.0.0.1:{port}",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"),
    }
    child_env = clean_env(**{**defaults, **env})
    with server_process(
        GUNICORN, env=child_env, base=f"http://127.0.0.1:{port}", log_path=tmp_path / "gunicorn.log"
    ) as base:
        yield base


def get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


@pytest.mark.parametrize(
    ("dependency", "variable", "url"),
    [
        ("database", "DATABASE_URL", "postgres://postgres@127.0.0.1:{port}/stockroom"),
        ("cache", "REDIS_URL", "redis://127.0.0.1:{port}/0"),
        ("broker", "CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:{port}//"),
    ],
)
@pytest.mark.parametrize("failure", ["closed", "hung"])
def test_readyz_names_the_dependency_that_does_not_answer_within_its_bound(
    tmp_path, dependency, variable, url, failure
):
    import json

    hung = HungServer() if failure == "hung" else None
    port = hung.port if hung else free_port()
    try:
        with gunicorn(tmp_path, **{variable: url.format(port=port), "READINESS_TIMEOUT_SECONDS": "1.5"}) as base:
            started = time.monotonic()
            status, body = get(base + "/readyz")
            elapsed = time.monotonic() - started
    finally:
        if hung:
            hung.close()
    assert status == 503, body
    assert elapsed < 4, f"/readyz took {elapsed:.1f}s"
    data = json.loads(body)
    assert data["type"] == "server_error"
    assert [e["attr"] for e in data["errors"]] == [dependency]
    assert data["checks"][dependency] != "ok"
    assert all(v == "ok" for k, v in data["checks"].items() if k != dependency)


def test_a_gevent_worker_answers_others_while_a_request_waits_on_a_dependency(tmp_path) -> None:
    """One worker (gunicorn.conf.py's gevent class): while /readyz
    waits on a broker that never answers, the same process serves others."""
    import threading

    hung = HungServer()
    try:
        env = {"CELERY_BROKER_URL": f"amqp://guest:guest@127.0.0.1:{hung.port}//", "READINESS_TIMEOUT_SECONDS": "3"}
        with gunicorn(tmp_path, **env) as base:
            waiting: list[int] = []
            slow = threading.Thread(target=lambda: waiting.append(get(base + "/readyz")[0]))
            slow.start()
            time.sleep(0.5)  # /readyz is now waiting on the broker
            started = time.monotonic()
            answered = [get(base + "/healthz")[0] for _ in range(5)]
            elapsed = time.monotonic() - started
            still_waiting = slow.is_alive()
            slow.join(timeout=10)
    finally:
        hung.close()
    assert answered == [200] * 5
    assert still_waiting and elapsed < 1.5, f"/healthz took {elapsed:.2f}s beside a waiting request"
    assert waiting == [503]


def test_a_worker_freezes_what_it_loaded_before_its_first_request():
    """gunicorn's post_worker_init imports every view, hands the objects
    loaded so far to the collector's permanent generation (gc.freeze) and
    collects the young generation less often than Python's every 700."""
    code = (
        "import gc, runpy, django; conf = runpy.run_path('gunicorn.conf.py'); django.setup();"
        " import sys; before = 'orders.views' in sys.modules; conf['post_worker_init'](None);"
        " print(before, 'orders.views' in sys.modules, gc.get_freeze_count(), gc.get_threshold()[0])"
    )
    env = clean_env(
        DEBUG="true",
        SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_SETTINGS_MODULE="config.settings",
        PROMETHEUS_MULTIPROC_DIR="",
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    before, after, frozen, young = done.stdout.split()
    assert (before, after) == ("False", "True")
    assert int(frozen) > 10_000
    assert int(young) == 20_000


# --- The deployment files -------------------------------------------------------------


def test_the_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run([hadolint, "deploy/Dockerfile"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_file_has_the_whole_stack_with_health_checks():
    compose = yaml.safe_load((ROOT / "deploy/docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "beat"}
    for name in ("postgres", "redis", "web"):
        assert "healthcheck" in services[name], name
    assert services["migrate"]["command"][:3] == ["python", "manage.py", "migrate"]
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["web"]["environment"]["DATABASE_URL"].startswith("postgres://")


def test_the_procfile_runs_web_worker_and_beat():
    entries = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert set(entries) == {"web", "worker", "beat"}
    assert entries["web"].split() == ["gunicorn", "config.wsgi"]  # as the contract runs it: ./gunicorn.conf.py applies


# --- honcho: web, worker and beat on one machine ----------------------------------------


@pytest.mark.skipif(
    not (ON_POSTGRES and os.environ.get("REDIS_URL") and os.environ.get("CELERY_BROKER_URL")),
    reason="needs DATABASE_URL=postgres://…, REDIS_URL and CELERY_BROKER_URL (the whole stack)",
)
@pytest.mark.django_db(transaction=True)
def test_the_honcho_stack_places_an_order_and_emails_the_confirmation(tmp_path, staff):
    import json

    from rest_framework_simplejwt.tokens import RefreshToken

    sink = SmtpSink()
    sink.start()
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "STATIC_MANIFEST": "false",
        "DATABASE_URL": database_url_for_children(),
        "CELERY_QUEUE": f"stockroom-honcho-{uuid.uuid4().hex[:8]}",
        "CELERY_BEAT_SCHEDULE_FILE": str(tmp_path / "beat-schedule"),
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink.port),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"),
    }
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    log = (tmp_path / "honcho.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "honcho", "start"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: get(base + "/healthz")[0] == 200, timeout=40), (tmp_path / "honcho.log").read_text()
        assert wait_for(lambda: "ready." in (tmp_path / "honcho.log").read_text(), timeout=40)
        product_body = json.dumps({"sku": "HON-1", "name": "Honcho mug", "price": "7.00", "stock": 3}).encode()
        staff_token = str(RefreshToken.for_user(staff).access_token)
        request = urllib.request.Request(
            base + "/api/v1/products/", data=product_body, method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {staff_token}"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as r:
            product = json.loads(r.read())
        body = json.dumps({"email": "hon@example.com", "username": "hon", "password": "a-long-passphrase-9"}).encode()
        request = urllib.request.Request(
            base + "/api/v1/auth/register/", data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        assert urllib.request.urlopen(request, timeout=10).status == 201
        request = urllib.request.Request(
            base + "/api/v1/auth/token/", method="POST", headers={"Content-Type": "application/json"},
            data=json.dumps({"email": "hon@example.com", "password": "a-long-passphrase-9"}).encode(),
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as r:
            access = json.loads(r.read())["access"]
        order_body = json.dumps({"lines": [{"product_id": product["id"], "quantity": 2}]}).encode()
        request = urllib.request.Request(
            base + "/api/v1/orders/", data=order_body, method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {access}"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as r:
            order = json.loads(r.read())
        subject = f"Your Stockroom order {order['id']} is confirmed"
        assert wait_for(lambda: subject in [m["Subject"] for m in sink.messages], timeout=30), (
            tmp_path / "honcho.log"
        ).read_text()
        assert "Welcome to Stockroom" in [m["Subject"] for m in sink.messages]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        log.close()
        sink.stop()
    assert proc.returncode is not None
    # Stopped cleanly: no process of the stack is left listening.
    assert get(base + "/healthz", timeout=2)[0] == 0
