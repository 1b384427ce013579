"""Real processes and servers for tests with services: an SMTP sink, a Celery
worker and beat against the real broker, and sockets that misbehave."""

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from django.conf import settings

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
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


class SmtpSink:
    """A real SMTP server on a free local port that keeps what it receives;
    it can be stopped and started again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.handler = _Collect()
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
    """Accepts TCP connections and never answers: the worst kind of broker outage."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
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


@contextmanager
def celery_process(kind: str, *, queue: str, env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Run ``celery -A config worker`` (or ``beat``) in a child process."""
    child_env = {
        **os.environ,
        "DATABASE_URL": database_url_for_children(),
        "CELERY_QUEUE": queue,
        "SECRET_KEY": settings.SECRET_KEY,
        **env,
    }
    if kind == "worker":
        args = ["worker", "--pool=solo", "-Q", queue, "--without-gossip", "--without-mingle", "--without-heartbeat"]
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
            ready = wait_for(lambda: "ready." in (tmp_path / "celery-worker.log").read_text(), timeout=30)
            assert ready, (tmp_path / "celery-worker.log").read_text()
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
