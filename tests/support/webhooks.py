"""A real webhook receiver on 127.0.0.1 for the tests: records every POST
(headers and the exact body bytes) and answers with the statuses it is
given, in turn (the last one repeats). It can be stopped and started again
on the same port, to play a receiver that is down."""

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import connections

from tests.support.services import free_port


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def event_id(self) -> str:
        return self.headers["Stockroom-Event-Id"]


class WebhookReceiver:
    def __init__(self, statuses: tuple[int, ...] = (200,)) -> None:
        self.port = free_port()
        self.statuses = list(statuses)
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        # Called (in the server's thread) before each answer: the world changing mid-attempt.
        self.on_request: Callable[[], object] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def answer(self, *statuses: int) -> None:
        with self._lock:
            self.statuses = list(statuses)

    def _next_status(self) -> int:
        with self._lock:
            return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]

    def start(self) -> "WebhookReceiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                if receiver.on_request is not None:
                    try:
                        receiver.on_request()
                    finally:
                        connections.close_all()  # this thread's own, or the test database stays in use
                self.send_response(receiver._next_status())
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def events(self, event_type: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.received if event_type is None or r.json["type"] == event_type]


@pytest.fixture
def webhook_receiver(settings) -> Iterator[WebhookReceiver]:
    """A receiver on 127.0.0.1, allowed as a webhook host for the test
    (WEBHOOK_ALLOW_PRIVATE_HOSTS), stopped afterwards."""
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()
