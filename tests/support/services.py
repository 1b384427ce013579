"""Real processes and servers for tests with services: an SMTP sink, a Celery
worker and beat against the real broker, a private redis-server, API server
processes, and sockets that misbehave."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from django.conf import settings

from config.celery import app

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition: Callable[[], Any], *, timeout: float, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(interval)
    return condition()


class _Collect:
    def __init__(self, on_message: Callable[[Message], None] | None = None) -> None:
        self.messages: list[Message] = []
        self.on_message = on_message

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content)
        self.messages.append(message)
        if self.on_message is not None:
            self.on_message(message)  # the message is taken: what happens next is the test's
        return "250 Message accepted for delivery"


class SmtpSink:
    """A real SMTP server on a free local port that keeps what it receives;
    it can be stopped and started again on the same port."""

    def __init__(self, on_message: Callable[[Message], None] | None = None) -> None:
        self.port = free_port()
        self.handler = _Collect(on_message)
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[Message]:
        return self.handler.messages

    def start(self) -> None:
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class HungServer:
    """Accepts TCP connections and never answers: the worst kind of broker outage.
    ``port``: take the place of a server just stopped on that port."""

    def __init__(self, port: int = 0) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


def database_url_for_children() -> str:
    """The URL of the database this test run uses (the test database), for
    processes the test starts."""
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def stop(proc: "subprocess.Popen[Any]", timeout: float = 30) -> None:
    """Ask a child process to stop (SIGTERM), then make it (SIGKILL)."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@contextmanager
def celery_process(
    kind: str, *, queue: str, env: dict[str, str], tmp_path: Path, pool: tuple[str, ...] = ("--pool=solo",)
) -> Iterator[subprocess.Popen[str]]:
    """Run ``celery -A config worker`` (or ``beat``) in a child process; a
    worker with ``pool`` (one task at a time unless told otherwise)."""
    child_env = {
        **os.environ,
        "DATABASE_URL": database_url_for_children(),
        "CELERY_QUEUE": queue,
        "SECRET_KEY": settings.SECRET_KEY,
        **env,
    }
    if kind == "worker":
        # A node name of the queue's own: two workers named alike on one host
        # (tests run side by side) fight over the same exclusive pidbox queue.
        # No -Q: as the contract runs it, the worker consumes every queue the
        # settings declare (the test's queue and its webhook queue).
        args = ["worker", *pool, "-n", f"{queue}@%h"]
        args += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    else:
        args = ["beat", "--schedule", str(tmp_path / "beat-schedule")]
    log = (tmp_path / f"celery-{kind}.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", *args, "--loglevel=INFO"],
        cwd=ROOT,
        env=child_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        if kind == "worker":
            ready = wait_for(lambda: "ready." in (tmp_path / "celery-worker.log").read_text(), timeout=60)
            assert ready, (tmp_path / "celery-worker.log").read_text()
        yield proc
    finally:
        stop(proc)
        log.close()


REDIS_SERVER = "/usr/bin/redis-server"


class RedisServer:
    """A private ``redis-server`` on a free port, without persistence, that a
    test can kill, pause (SIGSTOP: hung with its data intact) and start again
    on the same port."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.log_path = tmp_path / f"redis-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> Any:
        import redis

        return redis.Redis(port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5)

    def _answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except Exception:
            return False

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        assert wait_for(self._answers, timeout=10), self.log_path.read_text()

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)  # a paused server cannot act on SIGTERM
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.proc = None


def redis_cache_settings(url: str) -> dict[str, Any]:
    """``CACHES`` as config/settings.py builds it for ``REDIS_URL=url``."""
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
            },
            "KEY_PREFIX": "stockroom",
        }
    }


_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # local servers: never via a proxy


@dataclass
class HttpAnswer:
    status: int
    headers: Message  # looked up in any case, like HTTP's
    body: Any


def _reset_before_answer(exc: Exception) -> bool:
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    return isinstance(reason, ConnectionResetError)


def http(
    method: str,
    url: str,
    body: Any = None,
    *,
    token: str | None = None,
    timeout: float = 30,
    resend_if_reset: int = 0,
    headers: dict[str, str] | None = None,
) -> HttpAnswer:
    """One JSON request with the standard library; HTTP errors are answers too.

    ``resend_if_reset``: how many times to send again a request whose
    connection was reset before any answer. ``runserver`` listens with a
    backlog of 10; under a burst of connections the kernel resets some before
    Django ever accepts them.
    """
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    for attempt in range(resend_if_reset + 1):
        try:
            with _direct.open(request, timeout=timeout) as response:
                status, answer_headers, raw = response.status, response.headers, response.read()
            break
        except urllib.error.HTTPError as error:
            status, answer_headers, raw = error.code, error.headers, error.read()
            break
        except (ConnectionResetError, urllib.error.URLError) as exc:
            if attempt == resend_if_reset or not _reset_before_answer(exc):
                raise
            time.sleep(0.05 * (attempt + 1))
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return HttpAnswer(status, answer_headers, parsed)


# As the contract runs it: from the project folder (server_process starts it
# there), where gunicorn reads ./gunicorn.conf.py.
GUNICORN = [sys.executable, "-m", "gunicorn", "config.wsgi"]


@contextmanager
def server_process(command: list[str], *, env: dict[str, str], base: str, log_path: Path) -> Iterator[str]:
    """Start a web server process from the repository root, wait until
    ``<base>/healthz`` answers 200 (failing at once if it exits), yield
    ``base``, and stop it afterwards."""
    with log_path.open("w") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

        def healthy() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"{command[2]} exited with {proc.returncode}:\n{log_path.read_text()}")
            try:
                return http("GET", f"{base}/healthz", timeout=2).status == 200
            except OSError:
                return False

        try:
            assert wait_for(healthy, timeout=60, interval=0.1), log_path.read_text()
            yield base
        finally:
            stop(proc)


@contextmanager
def runserver_process(*, port: int, env: dict[str, str | None], tmp_path: Path) -> Iterator[str]:
    """``manage.py runserver 127.0.0.1:<port> --noreload`` against the test
    database; yields its base URL once ``/healthz`` answers 200."""
    child_env = {**os.environ, "DATABASE_URL": database_url_for_children(), "SECRET_KEY": settings.SECRET_KEY, **env}
    with server_process(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        env={k: v for k, v in child_env.items() if v is not None},
        base=f"http://127.0.0.1:{port}",
        log_path=tmp_path / f"runserver-{port}.log",
    ) as base:
        yield base


@contextmanager
def publishing_to(url: str) -> Iterator[None]:
    """Make this process publish tasks to ``url`` (and back afterwards).
    Publishing connects to ``broker_write_url``: ``broker_url`` alone would
    not do, as Celery prefers the CELERY_BROKER_URL environment variable to it."""
    before = app.conf.get("broker_write_url")

    def switch(to: str | None) -> None:
        app.conf["broker_write_url"] = to
        # Celery's private pools of connections to the old broker (not in celery-types).
        app._pool = None  # type: ignore[attr-defined]
        app.amqp._producer_pool = None  # type: ignore[attr-defined]

    switch(url)
    assert app.connection_for_write().as_uri(include_password=True) == url
    try:
        yield
    finally:
        switch(before)
