"""The TCP proxy the fault tests put between Stockroom and its services
(tests/support/proxy.py), against a local echo server: it forwards, goes
down (refuses and cuts), hangs (accepts, holds every byte, closes nothing)
and comes back. Plain sockets: no service needed."""

import os
import socket
import threading
from collections.abc import Iterator

import pytest

from tests.support.proxy import Mode, TcpProxy, via
from tests.support.services import free_port

QUIET = 0.5  # seconds without an answer that count as "nothing came"


class EchoServer:
    """Echoes what each connection sends, until its EOF; then closes it."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn: socket.socket) -> None:
        with conn:
            try:
                while data := conn.recv(65536):
                    conn.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()


@pytest.fixture
def proxy(echo: EchoServer) -> Iterator[TcpProxy]:
    with TcpProxy("127.0.0.1", echo.port) as p:
        yield p


def connect(proxy: TcpProxy) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=5)


def receive(sock: socket.socket, size: int) -> bytes:
    """``size`` bytes, or fewer if the connection ends first."""
    received = b""
    while len(received) < size and (chunk := sock.recv(65536)):
        received += chunk
    return received


def round_trip(sock: socket.socket, data: bytes) -> bytes:
    sock.sendall(data)
    return receive(sock, len(data))


def nothing_comes(sock: socket.socket) -> bool:
    """No byte and no EOF within QUIET seconds: the connection is held open."""
    sock.settimeout(QUIET)
    try:
        sock.recv(1)
    except TimeoutError:
        return True
    finally:
        sock.settimeout(5)
    return False


def is_cut(sock: socket.socket) -> bool:
    """The connection ends (EOF or reset) within a second."""
    sock.settimeout(1)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_forwards_both_ways_on_many_connections_at_once(proxy) -> None:
    payloads = [os.urandom(300_000) for _ in range(8)]  # more than the socket buffers hold
    echoed: list[bytes] = [b""] * len(payloads)

    def talk(n: int) -> None:
        with connect(proxy) as sock:
            echoed[n] = round_trip(sock, payloads[n])

    threads = [threading.Thread(target=talk, args=(n,)) for n in range(len(payloads))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert echoed == payloads
    assert proxy.accepted == len(payloads)


def test_a_half_close_is_passed_on_and_the_answer_still_arrives(proxy):
    with connect(proxy) as sock:
        sock.sendall(b"last words")
        sock.shutdown(socket.SHUT_WR)  # the echo server answers, then closes on our EOF
        received = b""
        while chunk := sock.recv(1024):
            received += chunk
    assert received == b"last words"


def test_down_refuses_new_connections_and_cuts_open_ones_then_forward_serves_again(proxy):
    open_one = connect(proxy)
    assert round_trip(open_one, b"before") == b"before"

    proxy.down()
    assert proxy.mode is Mode.DOWN
    assert is_cut(open_one)
    with pytest.raises(ConnectionRefusedError):
        connect(proxy)
    assert proxy.open_connections == 0

    proxy.forward()  # on the same port, so the product's URL still points at it
    with connect(proxy) as sock:
        assert round_trip(sock, b"after") == b"after"
    open_one.close()


def test_hung_accepts_and_holds_every_byte_without_closing_then_forward_delivers(proxy, echo):
    old = connect(proxy)
    assert round_trip(old, b"ping") == b"ping"

    proxy.hang()
    old.sendall(b"held")
    assert nothing_comes(old)  # no echo, no EOF: the connection is simply silent
    new = connect(proxy)  # accepted, as a hung server's kernel does
    new.sendall(b"also held")
    assert nothing_comes(new)
    assert nothing_comes(old)
    assert echo.connections == 1  # the new connection has not reached the server

    proxy.forward()
    assert receive(old, 4) == b"held"
    assert receive(new, 9) == b"also held"
    assert round_trip(old, b"and on") == b"and on"
    old.close()
    new.close()


def test_down_while_hung_cuts_the_held_connections(proxy):
    held = connect(proxy)
    proxy.hang()
    held_new = connect(proxy)
    held_new.sendall(b"x")
    proxy.down()
    assert is_cut(held)
    assert is_cut(held_new)
    with pytest.raises(ConnectionRefusedError):
        connect(proxy)
    held.close()
    held_new.close()


def test_a_service_that_cannot_be_reached_cuts_the_client():
    with TcpProxy("127.0.0.1", free_port()) as proxy, connect(proxy) as sock:
        assert is_cut(sock)


def test_close_cuts_everything_and_frees_the_port(echo):
    proxy = TcpProxy("127.0.0.1", echo.port).start()
    sock = connect(proxy)
    assert round_trip(sock, b"x") == b"x"
    proxy.close()
    assert is_cut(sock)
    with pytest.raises(ConnectionRefusedError):
        connect(proxy)
    sock.close()


def test_via_points_a_service_url_at_the_proxy_keeping_the_rest():
    assert via("postgres://postgres@127.0.0.1:5432/test_db", 4100) == "postgres://postgres@127.0.0.1:4100/test_db"
    assert via("amqp://guest:guest@127.0.0.1:5672//", 4101) == "amqp://guest:guest@127.0.0.1:4101//"
    assert via("redis://localhost:6379/15", 4102) == "redis://127.0.0.1:4102/15"
    assert via("redis://:secret@[::1]:6379/0?x=1", 4103) == "redis://:secret@127.0.0.1:4103/0?x=1"
