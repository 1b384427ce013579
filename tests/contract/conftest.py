"""A real Stockroom server for the fuzzer, and the fuzzer's counts in the log.

The server is ``gunicorn config.wsgi`` in production mode, with two workers
sharing Redis (one without REDIS_URL, the most gunicorn.conf.py allows there),
against the test run's database: on PostgreSQL the test database itself (the
test is ``django_db(transaction=True)``, so it is emptied afterwards); on
SQLite a file of its own, migrated by the child.
Rate limits are raised out of the fuzzer's way (that 429s conform is checked
in test_regressions.py).
"""

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.conftest import ON_POSTGRES
from tests.support.services import GUNICORN, ROOT, database_url_for_children, free_port, server_process

# Lines printed at the end of the run (``schemathesis: N cases, M failures``).
SUMMARY: list[str] = []

UNLIMITED = "100000/min"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in SUMMARY:
        terminalreporter.write_line(line)


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    seed: dict[str, Any]  # what tests/contract/seed.py made: ids and access tokens
    log: Path


def _child_env(tmp_path: Path, port: int) -> dict[str, str]:
    """The environment of a fresh production process: none of this run's
    overrides except the database and Redis it must share."""
    dropped = ("DATABASE_", "REDIS_", "CELERY_", "SECURE_", "STATIC_", "EMAIL_", "RATE_LIMIT_", "JWT_", "LOG_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped) and k not in ("SECRET_KEY", "DEBUG")}
    database = database_url_for_children() if ON_POSTGRES else f"sqlite:///{tmp_path / 'fuzz.sqlite3'}"
    env.update(
        {
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "STATIC_MANIFEST": "false",
            "DATABASE_URL": database,
            "RATE_LIMIT_AUTH": UNLIMITED,
            "RATE_LIMIT_ORDERS": UNLIMITED,
            "RATE_LIMIT_ANON": UNLIMITED,
            "RATE_LIMIT_USER": UNLIMITED,
            "JWT_ACCESS_MINUTES": "1440",  # a long `make fuzz` outlives the default 15 minutes
            "LOG_LEVEL": "WARNING",  # errors (and any traceback) still reach the log
            "WEB_CONCURRENCY": "2" if settings.REDIS_URL else "1",
            "GUNICORN_THREADS": "1",
            "GUNICORN_TIMEOUT": "60",
            "BIND": f"127.0.0.1:{port}",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
        }
    )
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL  # cache and rate limits in Redis, as in production
    return env


def _manage(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture
def fuzz_server(transactional_db: None, tmp_path: Path) -> Iterator[LiveServer]:
    """gunicorn with two workers on a free port, with the fuzzer's data seeded."""
    port = free_port()
    env = _child_env(tmp_path, port)
    (tmp_path / "prometheus").mkdir()  # manage.py counts into it too; gunicorn empties it when it starts
    if not ON_POSTGRES:
        _manage("migrate", "--noinput", env=env)
    out = _manage("shell", "-c", "from tests.contract.seed import main; main()", env=env)
    seed = json.loads(next(line for line in out.splitlines() if line.startswith("SEED "))[5:])

    log_path = tmp_path / "gunicorn.log"
    with server_process(GUNICORN, env=env, base=f"http://127.0.0.1:{port}", log_path=log_path) as base:
        yield LiveServer(base_url=base, seed=seed, log=log_path)
