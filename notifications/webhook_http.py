"""The network edge of webhooks: resolve a host, check it, POST once.

The rules on what may be called are pure (notifications.domain.addresses);
this module applies them to the world. A host is resolved once per call,
every address it resolves to is checked, and the connection goes to a
checked address by number: urllib3 is never handed the name, so it cannot
look the name up again and be answered, the second time, with 127.0.0.1
(DNS rebinding). The name still travels where it belongs: in ``Host``, in
the TLS SNI, and as the name the certificate must match.

``post`` never raises for what the network does: every failure, a refused
URL included, is an ``Outcome`` with a short reason for staff. Each call
uses a fresh connection that is closed afterwards, never pooled: a
connection kept open would skip the check on the next delivery.

The attempt ends at one deadline, ``timeout`` after the call starts.
urllib3's timeouts bound each socket operation, not their sum, so a
receiver that sends a byte every few seconds would never trip them: once
connected, a timer shuts the socket down at the deadline instead (sending,
the status line, the headers, the body). Before that, the connection and
its TLS handshake are bounded by ``connect_timeout`` per operation; name
resolution counts against the deadline but cannot be interrupted.
"""

import contextlib
import socket
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import ip_address
from ssl import SSLContext
from typing import Any

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    SSLError,
)

from notifications.domain.addresses import IPAddress, Target, UrlNotAllowed, forbidden, parse_target

USER_AGENT = "Stockroom-Webhooks/1"
EXCERPT_BYTES = 1024
_ERROR_LIMIT = 300
_CHUNK = 8192


class Unresolvable(UrlNotAllowed):
    """The host does not resolve (now): refused for a delivery, accepted at registration."""


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None  # None when no answer came
    error: str | None  # short, for staff; None when the receiver answered without a redirect
    duration_ms: int
    response_excerpt: str = ""  # the first ≤ 1 KB of what the receiver answered

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to for TCP, once each, in the resolver's order."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
        raise Unresolvable(f"{host} does not resolve") from exc
    addresses: list[IPAddress] = []
    for family, _, _, _, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ip_address(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise Unresolvable(f"{host} does not resolve")
    return addresses


def check_addresses(addresses: Iterable[IPAddress], *, allow_private: bool) -> None:
    """``UrlNotAllowed`` if any address is forbidden: one good address does not excuse a bad one,
    since the client would be free to pick either."""
    if allow_private:
        return
    for address in addresses:
        if forbidden(address):
            raise UrlNotAllowed(f"resolves to a forbidden address {address}")


def registration_problem(url: str, *, allow_private: bool) -> str | None:
    """Why ``url`` cannot be registered, or None. A host that does not resolve yet is accepted:
    each delivery checks it again."""
    try:
        target = parse_target(url)
    except UrlNotAllowed as exc:
        return exc.reason
    try:
        check_addresses(resolve(target.host, target.port), allow_private=allow_private)
    except Unresolvable:
        return None
    except UrlNotAllowed as exc:
        return f"the host {exc.reason}"
    return None


# --- the deadline -----------------------------------------------------------------------------------------------


class _Watchdog:
    """Shuts the socket down at the deadline, whatever http.client is blocked in."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self._timer: threading.Timer | None = None

    def arm(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        self._timer = threading.Timer(max(0.0, self.deadline - time.monotonic()), self._cut, args=(sock,))
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    @staticmethod
    def _cut(sock: socket.socket) -> None:
        # The plain socket's shutdown, also for TLS: the blocked reader sees EOF, and the
        # SSL object it is reading with stays intact. A socket closed meanwhile raises, harmlessly.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Deadline:
    """A connection whose socket is shut at the attempt's deadline (mixed into
    urllib3's HTTP and HTTPS connections, before them)."""

    sock: Any

    def __init__(self, *args: Any, deadline: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._watchdog = _Watchdog(deadline)

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self._watchdog.arm(self.sock)

    def close(self) -> None:
        self._watchdog.cancel()
        super().close()  # type: ignore[misc]


class _DeadlineHTTPConnection(_Deadline, HTTPConnection):
    pass


class _DeadlineHTTPSConnection(_Deadline, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


# --- one POST ---------------------------------------------------------------------------------------------------


def _default_ca_bundle() -> str | None:
    try:
        import certifi
    except ImportError:  # urllib3 then loads the system's CAs
        return None
    return certifi.where()


def _pool(
    target: Target,
    address: IPAddress,
    *,
    deadline: float,
    connect_timeout: float,
    ssl_context: SSLContext | None,
) -> HTTPConnectionPool:
    remaining = deadline - time.monotonic()
    timeout = urllib3.Timeout(total=remaining, connect=min(connect_timeout, remaining), read=remaining)
    common: dict[str, Any] = {"maxsize": 1, "block": False, "retries": False, "timeout": timeout, "deadline": deadline}
    if target.scheme == "http":
        return _HTTPPool(host=str(address), port=target.port, **common)
    return _HTTPSPool(
        host=str(address),
        port=target.port,
        # The name, not the address we connect to: it is sent as SNI, and the certificate must match it.
        server_hostname=target.host,
        assert_hostname=target.host,
        cert_reqs="CERT_REQUIRED",  # even if the given context says otherwise
        ssl_context=ssl_context,
        ca_certs=_default_ca_bundle() if ssl_context is None else None,
        **common,
    )


def _short(text: object) -> str:
    return str(text)[:_ERROR_LIMIT]


def _connect_error(exc: HTTPError, *, address: IPAddress, connect_timeout: float) -> str:
    if isinstance(exc, NewConnectionError):
        cause = exc.__cause__
        if isinstance(cause, ConnectionRefusedError):
            return f"connection refused by {address}"
        return _short(f"connection to {address} failed: {cause or exc}")
    return f"connect timeout after {connect_timeout}s to {address}"


def _read_some(response: urllib3.BaseHTTPResponse, *, limit: int, deadline: float) -> bytes:
    """At most ``limit`` bytes of the body, as many as arrive before the deadline. What the
    receiver says after its status is for staff to read, never a reason to fail or wait."""
    received = bytearray()
    try:
        while len(received) < limit and time.monotonic() < deadline:
            chunk = response.read(min(_CHUNK, limit - len(received)), decode_content=False)
            if not chunk:
                break
            received += chunk
    except (HTTPError, OSError):
        pass
    return bytes(received)


def _attempt(
    target: Target,
    address: IPAddress,
    body: bytes,
    headers: Mapping[str, str],
    *,
    deadline: float,
    connect_timeout: float,
    max_response_bytes: int,
    ssl_context: SSLContext | None,
) -> tuple[int, str | None, str]:
    pool = _pool(target, address, deadline=deadline, connect_timeout=connect_timeout, ssl_context=ssl_context)
    try:
        response = pool.urlopen(
            "POST",
            target.path_and_query,
            body=body,
            headers=dict(headers),
            retries=False,
            redirect=False,  # a 3xx comes back as it is
            assert_same_host=False,
            preload_content=False,
            release_conn=False,
        )
        try:
            received = _read_some(response, limit=max_response_bytes, deadline=deadline)
        finally:
            response.close()  # closes the connection with it: nothing goes back to a pool
    finally:
        pool.close()
    excerpt = received[:EXCERPT_BYTES].decode("utf-8", errors="replace")
    status = response.status
    if 300 <= status < 400:
        location = response.headers.get("Location", "")
        return status, _short(f"redirect to {location} not followed ({status})"), excerpt
    return status, None, excerpt


def _request_headers(target: Target, headers: Mapping[str, str]) -> dict[str, str]:
    sent = {name: value for name, value in headers.items() if name.lower() not in ("host", "user-agent")}
    return {**sent, "Host": target.authority, "User-Agent": USER_AGENT}


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    allow_private: bool,
    timeout: float = 10.0,
    connect_timeout: float = 3.0,
    max_response_bytes: int = 64 * 1024,
    ssl_context: SSLContext | None = None,
) -> Outcome:
    """POST ``body`` to ``url`` once, to an address that was checked, within ``timeout`` seconds.

    The addresses are tried in the resolver's order; the next one only when
    the connection to the previous one failed (nothing was sent), and only
    while time remains. A redirect is a failure and is not followed.

    ``ssl_context`` gives other trust roots (the tests' CA); whatever it
    says, the certificate is required and must match the URL's host (urllib3
    sets the context's ``verify_mode`` and does the name check itself).
    """
    started = time.monotonic()
    deadline = started + timeout

    def outcome(status: int | None, error: str | None, excerpt: str = "") -> Outcome:
        return Outcome(status, error, int((time.monotonic() - started) * 1000), excerpt)

    try:
        target = parse_target(url)
        addresses = resolve(target.host, target.port)
    except Unresolvable:
        return outcome(None, "does not resolve")
    except UrlNotAllowed as exc:
        return outcome(None, exc.reason)
    try:
        check_addresses(addresses, allow_private=allow_private)
    except UrlNotAllowed as exc:
        return outcome(None, f"host now {exc.reason}")

    request_headers = _request_headers(target, headers)
    error = f"timeout after {timeout}s"
    for address in addresses:
        if time.monotonic() >= deadline:
            break
        try:
            status, error_or_none, excerpt = _attempt(
                target,
                address,
                body,
                request_headers,
                deadline=deadline,
                connect_timeout=connect_timeout,
                max_response_bytes=max_response_bytes,
                ssl_context=ssl_context,
            )
        except (NewConnectionError, ConnectTimeoutError) as exc:
            # Nothing was sent to this address: the next one may answer, while time remains.
            if time.monotonic() >= deadline:
                error = f"timeout after {timeout}s"
            else:
                error = _connect_error(exc, address=address, connect_timeout=connect_timeout)
        except (HTTPError, OSError) as exc:
            if time.monotonic() >= deadline:
                return outcome(None, f"timeout after {timeout}s")
            if isinstance(exc, SSLError):
                return outcome(None, _short(f"TLS error: {exc.__cause__ or exc}"))
            if isinstance(exc, ProtocolError) and len(exc.args) > 1:  # ("Connection aborted.", the cause)
                return outcome(None, _short(f"connection lost: {exc.args[1]}"))
            return outcome(None, _short(f"{type(exc).__name__}: {exc}"))
        else:
            return outcome(status, error_or_none, excerpt)
    return outcome(None, error)
