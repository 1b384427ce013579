"""The network edge of webhooks against real HTTP(S) servers on 127.0.0.1.

Nothing of the network is faked but name resolution: ``socket.getaddrinfo``
is replaced where a test needs a name (``rebind.test``, ``hooks.test``) to
answer what it chooses. Every other lookup, urllib3's included, goes to the
real resolver and is recorded, which is how the tests see that urllib3 is
handed the checked address and never the name.
"""

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address

import pytest

from notifications.domain.addresses import UrlNotAllowed
from notifications.webhook_http import (
    USER_AGENT,
    Outcome,
    Unresolvable,
    check_addresses,
    post,
    registration_problem,
    resolve,
)

BODY = b'{"id": "evt_1", "type": "order.placed", "data": {"name": "caf\xc3\xa9"}}'
HEADERS = {
    "Content-Type": "application/json",
    "Stockroom-Event-Id": "evt_1",
    "Stockroom-Signature": "t=1700000000,v1=" + "ab" * 32,
}
GENEROUS = 5000  # ms: a bound that proves "not waiting for the server", never a benchmark


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Answer = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    requests: list[Seen] = field(default_factory=list)
    sni: list[str | None] = field(default_factory=list)
    completed: list[bool] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str = "/hook", host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"


def answer(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Answer:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return respond


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    """Start receivers on 127.0.0.1 that record each request, then answer with ``respond``."""
    started: list[Receiver] = []

    def start(respond: Answer, *, tls: ssl.SSLContext | None = None) -> Receiver:
        recorded: Receiver

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                recorded.requests.append(Seen("POST", self.path, dict(self.headers.items()), body))
                try:
                    respond(self)
                    recorded.completed.append(True)
                except OSError:  # the client hung up first
                    recorded.completed.append(False)
                self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        recorded = Receiver(server)
        if tls is not None:
            tls.sni_callback = lambda sock, name, ctx: recorded.sni.append(name)
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        started.append(recorded)
        return recorded

    yield start
    for each in started:
        each.server.shutdown()
        each.server.server_close()


@dataclass
class Resolver:
    """The real resolver, but for the names a test gives answers for; every lookup is recorded."""

    answers: dict[str, list[list[str]]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def names_asked(self) -> list[str]:
        return [host for host in self.asked if not _numeric(host)]


def _numeric(host: str) -> bool:
    try:
        ip_address(host)
    except ValueError:
        return False
    return True


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> Resolver:
    resolver = Resolver()
    real = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else host
        resolver.asked.append(name)
        if name not in resolver.answers:
            return real(host, port, family, type, proto, flags)
        queue = resolver.answers[name]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]  # the last answer holds
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                socket.IPPROTO_TCP,
                "",
                (address, port, 0, 0) if ":" in address else (address, port),
            )
            for address in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return resolver


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- a delivery that arrives --------------------------------------------------------------------------------------


def test_post_delivers_the_exact_body_and_headers(receiver):
    hooks = receiver(answer(200, b"thanks"))

    outcome = post(hooks.url("/in/stockroom?src=1"), BODY, HEADERS, allow_private=True)

    assert outcome.ok, outcome
    assert (outcome.status_code, outcome.error, outcome.response_excerpt) == (200, None, "thanks")
    [seen] = hooks.requests
    assert (seen.method, seen.path, seen.body) == ("POST", "/in/stockroom?src=1", BODY)
    assert seen.headers["Host"] == f"127.0.0.1:{hooks.port}"
    assert seen.headers["Content-Length"] == str(len(BODY))
    assert seen.headers["User-Agent"] == USER_AGENT
    for name, value in HEADERS.items():
        assert seen.headers[name] == value


def test_post_measures_its_duration(receiver):
    def slowish(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(0.2)
        answer(204)(handler)

    outcome = post(receiver(slowish).url(), BODY, HEADERS, allow_private=True)

    assert outcome.ok
    assert 200 <= outcome.duration_ms < GENEROUS


def test_post_a_500_is_not_ok_and_keeps_the_status_and_what_was_said(receiver):
    outcome = post(receiver(answer(500, b"database down")).url(), BODY, HEADERS, allow_private=True)

    assert not outcome.ok
    assert (outcome.status_code, outcome.response_excerpt) == (500, "database down")


def test_post_does_not_follow_a_redirect(receiver):
    elsewhere = receiver(answer(200))
    hooks = receiver(answer(302, headers={"Location": elsewhere.url("/moved")}))

    outcome = post(hooks.url(), BODY, HEADERS, allow_private=True)

    assert not outcome.ok
    assert outcome.status_code == 302
    assert "redirect" in outcome.error and elsewhere.url("/moved") in outcome.error and "302" in outcome.error
    assert len(hooks.requests) == 1
    assert elsewhere.requests == []


def test_post_gives_up_at_the_timeout_on_a_receiver_that_does_not_answer(receiver):
    def asleep(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(3)
        answer(200)(handler)

    outcome = post(receiver(asleep).url(), BODY, HEADERS, allow_private=True, timeout=0.5)

    assert not outcome.ok
    assert outcome.status_code is None
    assert "timeout" in outcome.error
    assert outcome.duration_ms < GENEROUS


def test_post_gives_up_at_the_timeout_on_a_receiver_that_answers_a_byte_at_a_time(receiver):
    # Each byte comes well within any per-read timeout; only a deadline on the whole attempt stops this.
    def dribble(handler: BaseHTTPRequestHandler) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 200 + b"\r\nContent-Length: 0\r\n\r\n":
            handler.wfile.write(bytes([byte]))
            time.sleep(0.05)

    outcome = post(receiver(dribble).url(), BODY, HEADERS, allow_private=True, timeout=0.5)

    assert not outcome.ok
    assert "timeout" in outcome.error
    assert outcome.duration_ms < GENEROUS  # the dribble alone takes over 11 s


def test_post_reports_a_refused_connection():
    outcome = post(f"http://127.0.0.1:{closed_port()}/hook", BODY, HEADERS, allow_private=True)

    assert not outcome.ok
    assert outcome.status_code is None
    assert "refused" in outcome.error


def test_post_reads_at_most_max_response_bytes_of_a_huge_answer(receiver):
    huge = 256 * 1024 * 1024  # far more than the socket buffers hold: sending it all needs a reader

    def flood(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(huge))
        handler.end_headers()
        chunk = b"x" * 65536
        for _ in range(huge // len(chunk)):
            handler.wfile.write(chunk)

    hooks = receiver(flood)
    outcome = post(hooks.url(), BODY, HEADERS, allow_private=True, max_response_bytes=4096)

    assert outcome.ok
    assert outcome.response_excerpt == "x" * 1024
    assert outcome.duration_ms < GENEROUS
    deadline = time.monotonic() + 5
    while not hooks.completed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert hooks.completed == [False]  # the client hung up long before the end


def test_post_tries_the_next_address_when_a_connection_fails(receiver, dns):
    hooks = receiver(answer(200))
    # Nothing listens on 127.0.0.2 (the receiver is bound to 127.0.0.1 alone): that one is refused.
    dns.answers["two.test"] = [["127.0.0.2", "127.0.0.1"]]

    outcome = post(hooks.url(host="two.test"), BODY, HEADERS, allow_private=True)

    assert outcome.ok, outcome
    assert len(hooks.requests) == 1


# --- refused before any connection --------------------------------------------------------------------------------


def test_post_refuses_a_private_address_before_connecting(receiver):
    hooks = receiver(answer(200))

    outcome = post(hooks.url(), BODY, HEADERS, allow_private=False)

    assert not outcome.ok
    assert outcome.status_code is None
    assert "forbidden address 127.0.0.1" in outcome.error
    time.sleep(0.1)
    assert hooks.requests == []


def test_post_refuses_a_name_that_resolves_to_a_forbidden_address(receiver, dns):
    hooks = receiver(answer(200))
    dns.answers["internal.test"] = [["93.184.216.34", "127.0.0.1"]]  # one bad address is enough

    outcome = post(hooks.url(host="internal.test"), BODY, HEADERS, allow_private=False)

    assert not outcome.ok
    assert outcome.error == "host now resolves to a forbidden address 127.0.0.1"
    time.sleep(0.1)
    assert hooks.requests == []


def test_post_connects_to_the_address_it_checked_and_resolves_once(receiver, dns):
    hooks = receiver(answer(200))
    # The first answer passes the check; any later lookup would send the connection to 192.0.2.1.
    dns.answers["rebind.test"] = [["127.0.0.1"], ["192.0.2.1"]]

    first = post(hooks.url(host="rebind.test"), BODY, HEADERS, allow_private=True)

    assert first.ok, first
    assert [seen.headers["Host"] for seen in hooks.requests] == [f"rebind.test:{hooks.port}"]
    assert dns.names_asked() == ["rebind.test"]  # once; urllib3 was handed 127.0.0.1, never the name
    assert set(dns.asked) <= {"rebind.test", "127.0.0.1"}

    # The next delivery resolves again, and is checked again.
    second = post(hooks.url(host="rebind.test"), BODY, HEADERS, allow_private=False)

    assert second.error == "host now resolves to a forbidden address 192.0.2.1"
    assert dns.names_asked() == ["rebind.test", "rebind.test"]
    assert len(hooks.requests) == 1


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("ftp://127.0.0.1/hook", "the URL must start with http:// or https://"),
        ("http://user:pw@127.0.0.1/hook", "the URL must not contain a user name or password"),
        ("http://nonexistent.invalid/hook", "does not resolve"),
    ],
)
def test_post_reports_a_url_it_cannot_use_without_raising(url, error):
    outcome = post(url, BODY, HEADERS, allow_private=True)

    assert outcome == Outcome(None, error, outcome.duration_ms, "")
    assert not outcome.ok


# --- resolving and checking ---------------------------------------------------------------------------------------


def test_resolve_dedupes_and_keeps_the_order(dns):
    dns.answers["many.test"] = [["93.184.216.34", "2606:4700::1111", "93.184.216.34", "8.8.8.8"]]

    assert resolve("many.test", 443) == [
        ip_address("93.184.216.34"),
        ip_address("2606:4700::1111"),
        ip_address("8.8.8.8"),
    ]


def test_resolve_raises_unresolvable_for_a_name_that_does_not_resolve():
    with pytest.raises(Unresolvable):
        resolve("nonexistent.invalid", 80)


def test_check_addresses_refuses_if_any_address_is_forbidden():
    public, private = ip_address("93.184.216.34"), ip_address("10.0.0.1")
    check_addresses([public], allow_private=False)
    check_addresses([public, private], allow_private=True)
    with pytest.raises(UrlNotAllowed, match=r"forbidden address 10\.0\.0\.1"):
        check_addresses([public, private], allow_private=False)


# --- registration -------------------------------------------------------------------------------------------------


def test_registration_accepts_a_host_that_does_not_resolve_yet():
    assert registration_problem("https://nonexistent.invalid/hook", allow_private=False) is None


def test_registration_refuses_localhost():
    problem = registration_problem("http://localhost/", allow_private=False)
    assert problem is not None and "forbidden address" in problem


def test_registration_accepts_localhost_when_private_hosts_are_allowed():
    assert registration_problem("http://localhost/", allow_private=True) is None


def test_registration_accepts_a_public_address():
    assert registration_problem("https://93.184.216.34/hook", allow_private=False) is None


@pytest.mark.parametrize("allow_private", [False, True])
def test_registration_refuses_a_scheme_other_than_http_whatever_the_setting(allow_private):
    assert registration_problem("ftp://x", allow_private=allow_private) == "the URL must start with http:// or https://"


# --- HTTPS: the address pinned, the name verified -----------------------------------------------------------------


@pytest.fixture(scope="module")
def ca():
    trustme = pytest.importorskip("trustme")
    return trustme.CA()


def tls_server_context(ca, name: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(name).configure_cert(context)
    return context


def trusting(ca) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def test_https_connects_to_the_checked_address_and_verifies_the_name(receiver, dns, ca):
    # The certificate names hooks.test, not 127.0.0.1: it verifies only if the name is what is checked.
    hooks = receiver(answer(200, b"ok"), tls=tls_server_context(ca, "hooks.test"))
    dns.answers["hooks.test"] = [["127.0.0.1"], ["192.0.2.1"]]

    outcome = post(
        hooks.url(host="hooks.test", scheme="https"), BODY, HEADERS, allow_private=True, ssl_context=trusting(ca)
    )

    assert outcome.ok, outcome
    assert outcome.response_excerpt == "ok"
    [seen] = hooks.requests
    assert (seen.headers["Host"], seen.body) == (f"hooks.test:{hooks.port}", BODY)
    assert hooks.sni == ["hooks.test"]
    assert dns.names_asked() == ["hooks.test"]


def test_https_refuses_a_certificate_for_another_name(receiver, dns, ca):
    hooks = receiver(answer(200), tls=tls_server_context(ca, "other.test"))
    dns.answers["hooks.test"] = [["127.0.0.1"]]

    outcome = post(
        hooks.url(host="hooks.test", scheme="https"), BODY, HEADERS, allow_private=True, ssl_context=trusting(ca)
    )

    assert not outcome.ok
    assert outcome.status_code is None
    assert "TLS" in outcome.error and "hooks.test" in outcome.error
    assert hooks.requests == []


def test_https_refuses_a_certificate_from_an_authority_not_trusted(receiver, dns, ca):
    hooks = receiver(answer(200), tls=tls_server_context(ca, "hooks.test"))
    dns.answers["hooks.test"] = [["127.0.0.1"]]

    outcome = post(hooks.url(host="hooks.test", scheme="https"), BODY, HEADERS, allow_private=True)

    assert not outcome.ok
    assert "certificate verify failed" in outcome.error
    assert hooks.requests == []


def test_https_verifies_even_with_a_context_that_does_not(receiver, dns, ca):
    hooks = receiver(answer(200), tls=tls_server_context(ca, "other.test"))
    dns.answers["hooks.test"] = [["127.0.0.1"]]
    lax = trusting(ca)
    lax.check_hostname = False
    lax.verify_mode = ssl.CERT_NONE

    outcome = post(hooks.url(host="hooks.test", scheme="https"), BODY, HEADERS, allow_private=True, ssl_context=lax)

    assert not outcome.ok
    assert hooks.requests == []
