"""A TCP proxy that a test puts between the product and one of its services
(PostgreSQL, Redis, the broker) to make that service fail without touching
the machine's own server.

``TcpProxy(host, port)`` listens on a free local port and forwards every
connection to ``host:port``. The test switches it at any time:

- ``forward()``: bytes flow both ways (the start, and the recovery);
- ``down()``: the service is gone: the listening socket is closed, so new
  connections are refused, and every open connection is cut (both its
  sockets closed), as a restart or a crash of the service does;
- ``hang()``: the service is alive but answers nothing: new connections are
  accepted, and no byte is forwarded either way on any connection, old or
  new, which is never closed either; ``forward()`` then delivers what was
  held, as a network or a server that stalled and came back.

One thread runs every socket (``selectors``) and applies a switch between
two rounds of forwarding, so when ``down()`` or ``hang()`` returns, it holds
for every connection. Half-closes are passed on (a side's EOF becomes a
``shutdown(SHUT_WR)`` on the other once what it sent is delivered).
"""

import contextlib
import queue
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field
from enum import Enum
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

CHUNK = 65_536
BUFFER_LIMIT = 1_048_576  # per direction: stop reading a side while this much waits for the other


class Mode(Enum):
    FORWARD = "forward"
    DOWN = "down"
    HUNG = "hung"


def via(url: str, port: int, host: str = "127.0.0.1") -> str:
    """``url`` with its host and port replaced by ``host:port`` (user,
    password, path and query kept): the service's URL, through a proxy."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@{host}:{port}" if credentials else f"{host}:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass(eq=False)
class _Pair:
    """One client connection and its connection to the service (None until
    it is made: a connection accepted while hung connects on ``forward()``)."""

    client: socket.socket
    upstream: socket.socket | None = None
    # bytes read from one side and not yet written to the other
    to_upstream: bytearray = field(default_factory=bytearray)
    to_client: bytearray = field(default_factory=bytearray)
    client_eof: bool = False  # the client has shut its side (we read EOF)
    upstream_eof: bool = False
    client_shut: bool = False  # we have passed the service's EOF on to the client
    upstream_shut: bool = False

    def sockets(self) -> list[socket.socket]:
        return [s for s in (self.client, self.upstream) if s is not None]


class TcpProxy:
    """See the module's docstring. Use as a context manager, or ``start()``
    and ``close()``."""

    _listener: socket.socket | None  # set by _listen(); None while down

    def __init__(self, target_host: str, target_port: int, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.target = (target_host, target_port)
        self.host = host
        self.mode = Mode.FORWARD
        self.accepted = 0  # connections accepted so far, in any mode
        self._listen(port)
        assert self._listener is not None
        self.port = int(self._listener.getsockname()[1])
        self._selector = selectors.DefaultSelector()
        self._watched: dict[socket.socket, int] = {}
        self._pairs: set[_Pair] = set()
        self._commands: queue.Queue[tuple[Mode | None, threading.Event]] = queue.Queue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._thread = threading.Thread(target=self._run, name=f"proxy-{self.port}", daemon=True)
        self._started = False
        self._closed = False

    # --- what a test calls ---------------------------------------------------

    def start(self) -> "TcpProxy":
        self._watch(self._wake_r, selectors.EVENT_READ)
        self._watch_listener()
        self._started = True
        self._thread.start()
        return self

    def forward(self) -> None:
        self._switch(Mode.FORWARD)

    def down(self) -> None:
        self._switch(Mode.DOWN)

    def hang(self) -> None:
        self._switch(Mode.HUNG)

    def url(self, service_url: str) -> str:
        """``service_url`` pointed at this proxy."""
        return via(service_url, self.port, self.host)

    @property
    def open_connections(self) -> int:
        return len(self._pairs)

    def close(self) -> None:
        """Cut everything and stop the thread."""
        if self._started and self._thread.is_alive():
            done = threading.Event()
            self._commands.put((None, done))
            self._wake_w.send(b"x")
            done.wait(timeout=10)
            self._thread.join(timeout=10)
        else:
            self._shutdown()

    def __enter__(self) -> "TcpProxy":
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def _switch(self, mode: Mode) -> None:
        """Ask the thread to switch and wait until it has: when this returns,
        the new mode holds for every connection."""
        assert self._started and self._thread.is_alive(), "the proxy is not running"
        done = threading.Event()
        self._commands.put((mode, done))
        self._wake_w.send(b"x")
        assert done.wait(timeout=10), f"the proxy did not switch to {mode.value}"

    # --- the thread ------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                for key, mask in self._selector.select():
                    if key.fileobj is self._wake_r:
                        if not self._apply_commands():
                            return
                    elif key.fileobj is self._listener:
                        self._accept()
                    else:
                        self._pump(key.data, key.fileobj, mask)  # type: ignore[arg-type]
        finally:
            self._shutdown()

    def _apply_commands(self) -> bool:
        """Apply every queued switch; False once asked to close."""
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass
        while True:
            try:
                mode, done = self._commands.get_nowait()
            except queue.Empty:
                return True
            if mode is None:
                self._shutdown()
                done.set()
                return False
            self._enter(mode)
            done.set()

    def _enter(self, mode: Mode) -> None:
        self.mode = mode
        if mode is Mode.DOWN:
            self._unwatch(self._listener)
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            for pair in list(self._pairs):
                self._cut(pair)
            return
        if self._listener is None:
            self._listen(self.port)
            self._watch_listener()
        for pair in list(self._pairs):
            if mode is Mode.FORWARD and pair.upstream is None and not self._connect(pair):
                continue
            self._update(pair)

    def _listen(self, port: int) -> None:
        """Listen on ``port`` (0: a free one). After ``down()`` the same port
        is taken again; something else may have bound it meanwhile, so retry
        for a while rather than fail at once."""
        deadline = time.monotonic() + 5
        while True:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                listener.bind((self.host, port))
            except OSError:
                listener.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
                continue
            listener.listen(128)
            listener.setblocking(False)
            self._listener = listener
            return

    def _watch_listener(self) -> None:
        assert self._listener is not None
        self._watch(self._listener, selectors.EVENT_READ)

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                client, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # e.g. out of descriptors: the client sees its connection fail
                return
            self.accepted += 1
            client.setblocking(False)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pair = _Pair(client)
            self._pairs.add(pair)
            if self.mode is Mode.FORWARD and not self._connect(pair):
                continue
            self._update(pair)

    def _connect(self, pair: _Pair) -> bool:
        """Connect ``pair`` to the service; a service that cannot be reached
        cuts the client, as it would without the proxy."""
        try:
            # A local service accepts (or refuses) at once; the bound is for safety.
            upstream = socket.create_connection(self.target, timeout=2)
        except OSError:
            self._cut(pair)
            return False
        upstream.setblocking(False)
        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pair.upstream = upstream
        return True

    def _pump(self, pair: _Pair, sock: socket.socket, mask: int) -> None:
        if pair not in self._pairs or self.mode is not Mode.FORWARD:
            return
        from_client = sock is pair.client
        try:
            if mask & selectors.EVENT_WRITE:
                outgoing = pair.to_client if from_client else pair.to_upstream
                sent = sock.send(outgoing)
                del outgoing[:sent]
            if mask & selectors.EVENT_READ:
                data = sock.recv(CHUNK)
                other = pair.upstream if from_client else pair.client
                waiting = pair.to_upstream if from_client else pair.to_client
                if from_client:
                    pair.client_eof = not data
                else:
                    pair.upstream_eof = not data
                if data and not waiting and other is not None:
                    # Straight on when nothing waits before it: one round of select the less.
                    with contextlib.suppress(BlockingIOError, InterruptedError):
                        data = data[other.send(data) :]
                waiting += data
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:  # reset by either side: the other is cut too
            self._cut(pair)
            return
        self._update(pair)

    def _update(self, pair: _Pair) -> None:
        """Watch each socket of ``pair`` for what it can do now; pass a
        half-close on; forget the pair once both sides are done."""
        if pair not in self._pairs:
            return
        if self.mode is not Mode.FORWARD or pair.upstream is None:
            for sock in pair.sockets():
                self._unwatch(sock)
            return
        client, upstream = pair.client, pair.upstream
        try:
            if pair.client_eof and not pair.to_upstream and not pair.upstream_shut:
                upstream.shutdown(socket.SHUT_WR)
                pair.upstream_shut = True
            if pair.upstream_eof and not pair.to_client and not pair.client_shut:
                client.shutdown(socket.SHUT_WR)
                pair.client_shut = True
        except OSError:
            self._cut(pair)
            return
        if pair.client_eof and pair.upstream_eof and not pair.to_upstream and not pair.to_client:
            self._cut(pair)
            return
        for sock, eof, incoming, outgoing in (
            (client, pair.client_eof, pair.to_upstream, pair.to_client),
            (upstream, pair.upstream_eof, pair.to_client, pair.to_upstream),
        ):
            events = 0
            if not eof and len(incoming) < BUFFER_LIMIT:
                events |= selectors.EVENT_READ
            if outgoing:
                events |= selectors.EVENT_WRITE
            self._watch(sock, events, pair)

    def _cut(self, pair: _Pair) -> None:
        self._pairs.discard(pair)
        for sock in pair.sockets():
            self._unwatch(sock)
            sock.close()

    def _watch(self, sock: socket.socket, events: int, data: object = None) -> None:
        before = self._watched.get(sock, 0)
        if events == before:
            return
        if not events:
            self._unwatch(sock)
        elif not before:
            self._selector.register(sock, events, data)
            self._watched[sock] = events
        else:
            self._selector.modify(sock, events, data)
            self._watched[sock] = events

    def _unwatch(self, sock: socket.socket | None) -> None:
        if sock is not None and self._watched.pop(sock, 0):
            self._selector.unregister(sock)

    def _shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        for pair in list(self._pairs):
            self._cut(pair)
        self._unwatch(self._listener)
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        for sock in (self._wake_r, self._wake_w):
            self._unwatch(sock)
            sock.close()
        self._selector.close()
