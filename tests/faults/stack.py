"""Stockroom as deployed, with each service behind a proxy the test controls.

gunicorn (2 workers, the project's gunicorn.conf.py), a Celery worker and
Celery beat run as real processes against the test database, Redis and the
broker, each reached through a :class:`~tests.support.proxy.TcpProxy`, and
send their emails to an SMTP sink. Client threads place orders and read
products while a test breaks one service and mends it.

What every fault test asks afterwards lives here too: nothing answered 5xx
once the service was back, every gunicorn worker answers, no order exists
that its client was not told about (beyond requests cut in flight, which
the client then retries with the same Idempotency-Key, as the contract
says it may), every order's confirmation arrived once, and the ledger
balances (``manage.py reconcile_inventory`` exits 0).
"""

import os
import random
import re
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db.models import Sum
from rest_framework_simplejwt.tokens import RefreshToken

from orders.models import IdempotencyKey, Order, OrderLine
from tests.conftest import ON_POSTGRES
from tests.factories import UserFactory, make_product
from tests.support.proxy import TcpProxy
from tests.support.services import (
    GUNICORN,
    ROOT,
    SmtpSink,
    celery_process,
    database_url_for_children,
    free_port,
    http,
    server_process,
    wait_for,
)

REDIS_URL = os.environ.get("REDIS_URL", "")
BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")

needs_services = pytest.mark.skipif(
    not (ON_POSTGRES and REDIS_URL and BROKER_URL),
    reason="needs DATABASE_URL=postgres://…, REDIS_URL and CELERY_BROKER_URL (CI sets them): these tests run "
    "gunicorn, a Celery worker and beat against the real services, each behind a proxy the test cuts or hangs",
)

ORDERS = "/api/v1/orders/"
PRODUCTS = "/api/v1/products/"

# How long the product may take, in seconds.
EMAILS_AFTER_RECOVERY = 50  # every waiting email is out (the contract: within a minute)
DUPLICATE_WINDOW = 3.0  # a twin would arrive within a redispatch (OUTBOX_REDISPATCH_SECONDS) of the first

# gunicorn's access log, off in production (the app writes its own line), is
# turned on here for one thing the app's line does not say: which worker
# process answered (``%(p)s``), by the request id the client sent.
ACCESS_LOG_FORMAT = "%(p)s %(s)s %({x-request-id}o)s"
_ACCESS_LINE = re.compile(r"<(\d+)> (\d{3}) (\S+)")
_CONFIRMED_ORDER = re.compile(r"\border (\d+)\b", re.IGNORECASE)


def _address(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


# --- The processes ------------------------------------------------------------------


@dataclass
class Stack:
    base: str
    db: TcpProxy
    redis: TcpProxy
    broker: TcpProxy
    sink: SmtpSink
    arrivals: list[tuple[float, Message]]  # (time.monotonic() it reached the sink, the email)
    pid_file: Path
    access_log: Path
    logs: list[Path]

    @property
    def master_pid(self) -> int:
        return int(self.pid_file.read_text().strip())

    def worker_pids(self) -> set[int]:
        """gunicorn's worker processes now: the master's children."""
        master = self.master_pid
        pids = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                after_name = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # gone meanwhile
            if int(after_name[1]) == master and after_name[0] != "Z":
                pids.add(int(stat.parent.name))
        return pids

    def serving(self, pid: int) -> bool:
        """Whether worker ``pid`` holds a client's connection now: the load's
        client closes each after its answer, so this is a request in flight."""
        port = int(urlsplit(self.base).port or 80)
        try:
            inodes = {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()}
        except OSError:  # it exited meanwhile
            return False
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for row in Path(table).read_text().splitlines()[1:]:
                fields = row.split()
                local_port, state, inode = int(fields[1].rsplit(":", 1)[1], 16), fields[3], fields[9]
                if local_port == port and state == "01" and f"socket:[{inode}]" in inodes:  # 01: ESTABLISHED
                    return True
        return False

    def answered_by(self) -> dict[str, tuple[int, int]]:
        """Request id → (worker pid, status), from gunicorn's access log."""
        found = {}
        for line in self.access_log.read_text().splitlines():
            if match := _ACCESS_LINE.search(line):
                found[match[3]] = (int(match[1]), int(match[2]))
        return found

    def confirmations(self) -> Counter[int]:
        """How many confirmation emails reached the sink, per order id."""
        counts: Counter[int] = Counter()
        for _, message in list(self.arrivals):
            subject = str(message["Subject"] or "")
            if "confirm" in subject.lower() and (match := _CONFIRMED_ORDER.search(subject)):
                counts[int(match[1])] += 1
        return counts

    def first_arrival(self, order_id: int) -> float:
        return min(
            at
            for at, message in list(self.arrivals)
            if (match := _CONFIRMED_ORDER.search(str(message["Subject"] or ""))) and int(match[1]) == order_id
        )

    def log_tails(self, lines: int = 40) -> str:
        """The end of every process's log, for a failing assertion's message."""
        parts = []
        for path in self.logs:
            text = path.read_text(errors="replace").splitlines() if path.exists() else []
            parts.append(f"--- {path.name} ---\n" + "\n".join(text[-lines:]))
        return "\n".join(parts)


def child_env(
    *, db: TcpProxy, redis: TcpProxy, broker: TcpProxy, sink: SmtpSink, queue: str, tmp_path: Path
) -> dict[str, str]:
    """Every process's environment: the services through the proxies, the
    test's own queue, the emails to the sink, and the outbox's timings
    compressed so that a test waits seconds where production waits a minute."""
    return {
        "DATABASE_URL": db.url(database_url_for_children()),
        "REDIS_URL": redis.url(REDIS_URL),  # the run's own Redis database index
        "CELERY_BROKER_URL": broker.url(BROKER_URL),
        "CELERY_QUEUE": queue,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink.port),
        "EMAIL_TIMEOUT": "3",
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "INFO",
        # The load is a few clients placing orders as fast as they can: no limit may refuse them.
        "RATE_LIMIT_ORDERS": "100000/min",
        "RATE_LIMIT_USER": "100000/min",
        "RATE_LIMIT_ANON": "100000/min",
        "OUTBOX_DISPATCH_SECONDS": "1",
        "OUTBOX_REDISPATCH_SECONDS": "3",
        "OUTBOX_RETRY_BASE_SECONDS": "0.2",
        "OUTBOX_RETRY_CAP_SECONDS": "1",
        # A worker that claimed an email and lost the database before it could
        # record the sending leaves it leased: it goes again when the lease ends.
        "OUTBOX_LEASE_SECONDS": "6",
        "WEBHOOK_ALLOW_PRIVATE_HOSTS": "true",  # the receivers are on 127.0.0.1
        "WEBHOOK_DISPATCH_SECONDS": "1",
        "WEBHOOK_REDISPATCH_SECONDS": "3",
        "WEBHOOK_RETRY_BASE_SECONDS": "0.2",
        "WEBHOOK_RETRY_CAP_SECONDS": "1",
        "WEBHOOK_LEASE_SECONDS": "6",
        "WEBHOOK_TIMEOUT_SECONDS": "3",
        "READINESS_TIMEOUT_SECONDS": "1",
        "WEB_CONCURRENCY": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
    }


def _enter_together(stack: ExitStack, managers: list[AbstractContextManager[Any]]) -> list[Any]:
    """Enter context managers that each start a process and wait for it, in
    threads, so the waits overlap; every one entered is exited by ``stack``."""
    values: list[Any] = [None] * len(managers)
    errors: list[BaseException] = []

    def enter(n: int) -> None:
        try:
            values[n] = managers[n].__enter__()
        except BaseException as exc:
            errors.append(exc)
            managers[n] = None  # type: ignore[call-overload]  # nothing to exit

    _together([lambda n=n: enter(n) for n in range(len(managers))])  # type: ignore[misc]
    entered = [manager for manager in managers if manager is not None]
    # ... and stopped together too: each waits for its process to end.
    stack.callback(lambda: _together([lambda m=m: m.__exit__(None, None, None) for m in entered]))  # type: ignore[misc]
    if errors:
        raise errors[0]
    return values


def _together(calls: list[Callable[[], None]]) -> None:
    threads = [threading.Thread(target=call) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


@contextmanager
def running_stack(*, queue: str, tmp_path: Path) -> Iterator[Stack]:
    arrivals: list[tuple[float, Message]] = []
    with ExitStack() as stack:
        sink = SmtpSink(on_message=lambda message: arrivals.append((time.monotonic(), message)))
        sink.start()
        stack.callback(sink.stop)
        db_settings = settings.DATABASES["default"]
        db = stack.enter_context(TcpProxy(db_settings["HOST"] or "127.0.0.1", int(db_settings["PORT"] or 5432)))
        redis = stack.enter_context(TcpProxy(*_address(REDIS_URL, 6379)))
        broker = stack.enter_context(TcpProxy(*_address(BROKER_URL, 5672)))
        env = child_env(db=db, redis=redis, broker=broker, sink=sink, queue=queue, tmp_path=tmp_path)

        port = free_port()
        pid_file, access_log = tmp_path / "gunicorn.pid", tmp_path / "gunicorn-access.log"
        gunicorn = [
            *GUNICORN,
            *("--pid", str(pid_file), "--access-logfile", str(access_log)),
            *("--access-logformat", ACCESS_LOG_FORMAT),
        ]
        _enter_together(
            stack,
            [
                server_process(
                    gunicorn,
                    env={**os.environ, **env, "BIND": f"127.0.0.1:{port}"},
                    base=f"http://127.0.0.1:{port}",
                    log_path=tmp_path / "gunicorn.log",
                ),
                celery_process("worker", queue=queue, env=env, tmp_path=tmp_path),
                celery_process("beat", queue=queue, env=env, tmp_path=tmp_path),
            ],
        )
        running = Stack(
            base=f"http://127.0.0.1:{port}",
            db=db,
            redis=redis,
            broker=broker,
            sink=sink,
            arrivals=arrivals,
            pid_file=pid_file,
            access_log=access_log,
            logs=[tmp_path / "gunicorn.log", tmp_path / "celery-worker.log", tmp_path / "celery-beat.log"],
        )
        assert wait_for(lambda: len(running.worker_pids()) == 2, timeout=30), running.log_tails()
        try:
            yield running
        finally:  # whatever the test did, the services are back before the processes stop
            for proxy in (db, redis, broker):
                proxy.forward()


# --- The shop and the load ----------------------------------------------------------------


@dataclass
class Shop:
    stock: dict[int, int]  # product id → its stock before the load
    tokens: list[str]  # one signed-in customer per client thread


def open_shop(*, products: int = 12, customers: int = 6, stock: int = 100_000) -> Shop:
    made = [make_product(stock=stock, price="5.00") for _ in range(products)]
    users = [UserFactory.create() for _ in range(customers)]
    return Shop(
        stock={product.id: stock for product in made},
        tokens=[str(RefreshToken.for_user(user).access_token) for user in users],
    )


@dataclass
class Outcome:
    """One request of the load: what was sent, and the answer or why none came."""

    kind: str  # "order" or "read"
    started: float
    ended: float = 0.0
    status: int | None = None  # None: no answer (the connection was cut, or timed out)
    body: Any = None
    error: str = ""
    token: str = ""
    key: str = ""  # the order's Idempotency-Key
    request: Any = None  # the order's body

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    @property
    def answered(self) -> bool:
        return self.status is not None

    @property
    def failed(self) -> bool:
        """No answer, or a server error: the client cannot know what happened."""
        return self.status is None or self.status >= 500

    def __repr__(self) -> str:
        what = self.status if self.answered else self.error
        return f"<{self.kind} {what} in {self.seconds:.2f}s at {self.started:.2f}: {str(self.body)[:200]}>"


def place_order(base: str, token: str, lines: list[dict[str, int]], key: str, *, timeout: float = 15) -> Outcome:
    outcome = Outcome("order", time.monotonic(), token=token, key=key, request={"lines": lines})
    try:
        # The key is the request id too: the logs and the access log then name the order's request.
        headers = {"Idempotency-Key": key, "X-Request-ID": key}
        answer = http("POST", base + ORDERS, outcome.request, token=token, timeout=timeout, headers=headers)
    except Exception as exc:  # no answer: the outcome says so
        outcome.error = repr(exc)
    else:
        outcome.status, outcome.body = answer.status, answer.body
    outcome.ended = time.monotonic()
    return outcome


def read_product(base: str, product_id: int, *, timeout: float = 15) -> Outcome:
    outcome = Outcome("read", time.monotonic())
    try:
        answer = http("GET", f"{base}{PRODUCTS}{product_id}/", timeout=timeout)
    except Exception as exc:
        outcome.error = repr(exc)
    else:
        outcome.status, outcome.body = answer.status, answer.body
    outcome.ended = time.monotonic()
    return outcome


class Load:
    """Client threads, one per customer, each placing orders (1–4 lines)
    and reading products, one request after another, until the block ends."""

    def __init__(self, base: str, shop: Shop, *, clients: int = 4, pause: float = 0.1) -> None:
        self.base, self.shop, self.pause = base, shop, pause
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(shop.tokens[n],), daemon=True) for n in range(clients)
        ]

    def _run(self, token: str) -> None:
        rng = random.Random()
        ids = list(self.shop.stock)
        n = 0
        while not self._stop.is_set():
            n += 1
            if n % 3 == 0:
                outcome = read_product(self.base, rng.choice(ids))
            else:
                lines = [
                    {"product_id": pid, "quantity": rng.randint(1, 3)} for pid in rng.sample(ids, rng.randint(1, 4))
                ]
                outcome = place_order(self.base, token, lines, f"fault-{uuid.uuid4().hex}")
            with self._lock:
                self.outcomes.append(outcome)
            self._stop.wait(self.pause)

    def __enter__(self) -> "Load":
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)
        assert not any(t.is_alive() for t in self._threads), "a client is still waiting for an answer"

    def between(self, start: float, end: float = float("inf")) -> list[Outcome]:
        """The requests sent in ``[start, end)``."""
        return [o for o in self.outcomes if start <= o.started < end]


def tally(outcomes: Iterable[Outcome]) -> Counter[str]:
    """e.g. {'order 201': 80, 'read 200': 40, 'order no answer': 1}: for messages."""
    return Counter(f"{o.kind} {o.status if o.answered else 'no answer'}" for o in outcomes)


# --- What every fault test asserts afterwards ---------------------------------------------------


def assert_all_succeeded(outcomes: list[Outcome], stack: Stack, *, what: str) -> None:
    bad = [o for o in outcomes if o.status not in (200, 201)]
    assert outcomes, f"no request was sent {what}"
    assert not bad, f"{len(bad)} request(s) {what} did not succeed: {bad[:5]} of {tally(outcomes)}\n{stack.log_tails()}"


def assert_server_errors_in_the_envelope(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        if o.answered and o.status >= 500:  # type: ignore[operator]
            assert isinstance(o.body, dict) and o.body.get("type") == "server_error", o
            assert o.body.get("errors") and all("code" in e for e in o.body["errors"]), o


def resend_failed_orders(base: str, outcomes: list[Outcome]) -> list[Outcome]:
    """What a careful client does once the service is back: send every order
    that got no answer, or a 5xx, again with the same Idempotency-Key and
    body. Each must now succeed: a replay of the order made before, or the
    order made now."""
    resent = []
    for o in outcomes:
        if o.kind == "order" and o.failed:
            again = place_order(base, o.token, o.request["lines"], o.key)
            assert again.status == 201, (o, again)
            resent.append(again)
    return resent


def orders_by_key() -> dict[int, str]:
    """Order id → the Idempotency-Key it was placed with."""
    found: dict[int, str] = {}
    for key, body in IdempotencyKey.objects.filter(response_status=201).values_list("key", "response_body"):
        assert body is not None, key  # a 201 is kept with the body it answered
        found[int(body["id"])] = key
    return found


def assert_every_order_was_told(outcomes: list[Outcome], *, unknown_allowed: set[str]) -> set[int]:
    """No order exists that its client was not told about (a 201), except
    those whose key is in ``unknown_allowed`` (requests whose answer never
    came, or was a 5xx while a service was down). Returns the ids of every
    order that exists."""
    told = {int(o.body["id"]) for o in outcomes if o.kind == "order" and o.status == 201}
    existing = set(Order.objects.values_list("id", flat=True))
    keys = orders_by_key()
    unknown = existing - told
    assert {keys.get(i, "<no key>") for i in unknown} <= unknown_allowed, (
        f"orders {sorted(unknown)} exist though their client got an answer that was not a 201"
    )
    assert told <= existing, f"orders {sorted(told - existing)} were confirmed to the client and do not exist"
    return existing


def assert_every_worker_answers(stack: Stack, shop: Shop, *, rounds: int = 10) -> list[Outcome]:
    """Bursts of concurrent orders until every gunicorn worker has answered
    some (by the access log): each is 201, so no worker was left broken.
    Returns the orders, to be counted with the others."""
    workers = stack.worker_pids()
    assert len(workers) == 2, workers
    ids = list(shop.stock)

    def probe(key: str) -> Outcome:
        line = [{"product_id": random.choice(ids), "quantity": 1}]
        return place_order(stack.base, random.choice(shop.tokens), line, key)

    placed: list[Outcome] = []
    seen: set[int] = set()
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(rounds):
            keys = [f"probe-{uuid.uuid4().hex}" for _ in range(8)]
            burst = list(pool.map(probe, keys))
            placed += burst
            assert all(o.status == 201 for o in burst), (burst, stack.log_tails())
            time.sleep(0.2)  # gunicorn writes the access log after the answer
            seen |= {pid for request_id, (pid, _) in stack.answered_by().items() if request_id in keys}
            if workers <= seen:
                return placed
    pytest.fail(f"workers {sorted(workers - seen)} never answered in {rounds} bursts\n{stack.log_tails()}")


def assert_confirmed(stack: Stack, order_ids: set[int]) -> None:
    """Every order's confirmation reaches the sink."""
    assert order_ids, "no order was placed"
    arrived = wait_for(lambda: order_ids <= set(stack.confirmations()), timeout=EMAILS_AFTER_RECOVERY, interval=0.5)
    missing = order_ids - set(stack.confirmations())
    assert arrived, (
        f"{len(missing)} of {len(order_ids)} confirmations never arrived: {sorted(missing)[:20]}\n"
        f"their outbox rows: {_outbox_rows(sorted(missing)[:20])}\n{stack.log_tails()}"
    )


def assert_confirmed_once(
    stack: Stack, order_ids: set[int], *, twins_allowed: Callable[[int], bool] | None = None
) -> None:
    """Every order's confirmation reaches the sink, and once: a second copy
    only where ``twins_allowed(order_id)`` says a crash may have come
    between the sending and the recording."""
    assert_confirmed(stack, order_ids)
    time.sleep(DUPLICATE_WINDOW)
    counts = stack.confirmations()
    twins = {i: n for i, n in counts.items() if n > 1}
    unexpected = {i: n for i, n in twins.items() if twins_allowed is None or not twins_allowed(i) or n > 2}
    assert not unexpected, f"confirmations sent more than once: {unexpected}\n{stack.log_tails()}"
    assert set(counts) <= order_ids | set(Order.objects.values_list("id", flat=True)), counts


def _outbox_rows(order_ids: list[int]) -> list[dict[str, Any]]:
    """The outbox rows of these orders' emails, for a failing assertion's
    message only (found by the model's name: the outbox may move apps)."""
    from django.apps import apps

    model = next((m for m in apps.get_models() if m.__name__ == "OutboxEmail"), None)
    if model is None:
        return []
    fields = [f.attname for f in model._meta.concrete_fields if f.name not in ("body_text", "body_html", "context")]
    return [
        row for i in order_ids for row in model._default_manager.filter(subject__contains=f"order {i} ").values(*fields)
    ]


def assert_ledger_balances(shop: Shop) -> None:
    """``manage.py reconcile_inventory`` exits 0, and every unit taken from
    stock belongs to an order that exists (no order was lost half-way)."""
    result = subprocess.run(
        [sys.executable, "manage.py", "reconcile_inventory"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url_for_children()},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    from inventory.models import Product

    ordered = dict(OrderLine.objects.values("product_id").annotate(n=Sum("quantity")).values_list("product_id", "n"))
    for product_id, stock in Product.objects.filter(id__in=shop.stock).values_list("id", "stock"):
        assert shop.stock[product_id] - stock == ordered.get(product_id, 0), product_id


def assert_not_ready_for(stack: Stack, check: str) -> None:
    """``/readyz`` answers 503 at once, naming the failing check."""
    started = time.monotonic()
    ready = http("GET", stack.base + "/readyz", timeout=10)
    took = time.monotonic() - started
    assert ready.status == 503, ready.body
    assert [error["attr"] for error in ready.body["errors"]] == [check], ready.body
    assert took < 3, f"/readyz took {took:.1f}s"


def break_for(stack: Stack, proxy: TcpProxy, mode: str, seconds: float, *, check: str) -> float:
    """Put ``proxy`` in ``mode`` ("down" or "hung") for ``seconds``, checking
    that ``/readyz`` names ``check`` meanwhile; returns when it broke
    (``time.monotonic()``). The caller mends it: ``proxy.forward()``."""
    proxy.down() if mode == "down" else proxy.hang()
    broke_at = time.monotonic()
    time.sleep(1)
    assert_not_ready_for(stack, check)
    time.sleep(max(0.0, seconds - (time.monotonic() - broke_at)))
    return broke_at
