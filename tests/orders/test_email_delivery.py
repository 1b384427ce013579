"""Order emails through a real Celery worker, a real broker and a real SMTP
server: nothing lost when the broker or the mail server is down, nothing sent
twice. Needs PostgreSQL (the worker reads the test database) and
CELERY_BROKER_URL; skipped with a reason otherwise."""

import os
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import ON_POSTGRES
from tests.factories import make_product
from tests.support.services import HungServer, SmtpSink, celery_process, free_port, publishing_to, wait_for
from users.models import OutboxEmail
from users.tasks import outbox_dispatch_task

BROKER = os.environ.get("CELERY_BROKER_URL", "")
pytestmark = [
    pytest.mark.skipif(not (ON_POSTGRES and BROKER), reason="needs DATABASE_URL=postgres://… and CELERY_BROKER_URL"),
    pytest.mark.django_db(transaction=True),
]

ORDERS = "/api/v1/orders/"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink()
    server.start()
    yield server
    server.stop()


def worker(queue: str, sink: SmtpSink, tmp_path, **env: str):  # type: ignore[no-untyped-def]
    return celery_process(
        "worker",
        queue=queue,
        tmp_path=tmp_path,
        env={
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(sink.port),
            "EMAIL_TIMEOUT": "3",
            "OUTBOX_RETRY_BASE_SECONDS": "0.2",
            "OUTBOX_RETRY_CAP_SECONDS": "0.5",
            **env,
        },
    )


def place_order(client, request_id: str = "") -> tuple[int, float]:  # type: ignore[no-untyped-def]
    product = make_product(stock=5)
    started = time.monotonic()
    headers = {"HTTP_X_REQUEST_ID": request_id} if request_id else {}
    r = client.post(ORDERS, {"lines": [{"product_id": product.id, "quantity": 1}]}, format="json", **headers)
    elapsed = time.monotonic() - started
    assert r.status_code == 201, r.content
    return r.json()["id"], elapsed


def confirmations(sink: SmtpSink, order_id: int) -> list[str]:
    return [m["Subject"] for m in sink.messages if f"order {order_id} " in m["Subject"]]


def test_an_order_placed_over_http_sends_exactly_one_confirmation(customer_api, sink, queue, tmp_path):
    request_id = f"order-{uuid.uuid4().hex}"
    with worker(queue, sink, tmp_path):
        order_id, _ = place_order(customer_api, request_id=request_id)
        assert wait_for(lambda: confirmations(sink, order_id), timeout=20)
        time.sleep(1.5)  # a duplicate would have arrived by now
    assert confirmations(sink, order_id) == [f"Your Stockroom order {order_id} is confirmed"]
    # The worker's log lines for that task carry the id of the request that
    # queued it: the drain that request queued with Redis (users.outbox), the
    # email's own delivery without.
    task = "outbox_drain_task" if os.environ.get("REDIS_URL") else "outbox_deliver_task"
    task_lines = [line for line in (tmp_path / "celery-worker.log").read_text().splitlines() if request_id in line]
    assert any(task in line for line in task_lines), task_lines
    message = next(m for m in sink.messages if f"order {order_id} " in m["Subject"])
    assert message.is_multipart()  # plain text and HTML
    assert OutboxEmail.objects.get(kind="order_confirmation").status == "sent"


@pytest.mark.parametrize("outage", ["refused", "hung"])
def test_a_broker_outage_delays_the_email_but_never_the_order(customer_api, sink, queue, tmp_path, outage):
    hung = HungServer() if outage == "hung" else None
    dead_broker = f"amqp://guest:guest@127.0.0.1:{hung.port if hung else free_port()}//"
    try:
        with publishing_to(dead_broker):
            order_id, elapsed = place_order(customer_api)
    finally:
        if hung:
            hung.close()
    assert elapsed < 5, f"placing the order took {elapsed:.1f}s with the broker {outage}"
    assert OutboxEmail.objects.get(kind="order_confirmation").status == "pending"

    # The broker is back: the periodic dispatcher (what beat runs) publishes
    # the pending row, the worker delivers it, once.
    with worker(queue, sink, tmp_path):
        outbox_dispatch_task()
        assert wait_for(lambda: confirmations(sink, order_id), timeout=20)
        outbox_dispatch_task()  # nothing is due any more
        time.sleep(1.5)
    assert len(confirmations(sink, order_id)) == 1
    assert OutboxEmail.objects.get(kind="order_confirmation").status == "sent"


def test_celery_beat_dispatches_pending_emails_by_itself(customer_api, sink, queue, tmp_path):
    with publishing_to(f"amqp://guest:guest@127.0.0.1:{free_port()}//"):
        order_id, _ = place_order(customer_api)
    with (
        worker(queue, sink, tmp_path),
        celery_process("beat", queue=queue, tmp_path=tmp_path, env={"OUTBOX_DISPATCH_SECONDS": "1"}),
    ):
        assert wait_for(lambda: confirmations(sink, order_id), timeout=30)
    assert len(confirmations(sink, order_id)) == 1


def test_mail_server_down_then_back_delivers_exactly_once(customer_api, sink, queue, tmp_path):
    sink.stop()
    with worker(queue, sink, tmp_path):
        order_id, _ = place_order(customer_api)
        email = OutboxEmail.objects.get(kind="order_confirmation")
        assert wait_for(lambda: OutboxEmail.objects.get(id=email.id).attempts >= 1, timeout=20)
        email.refresh_from_db()
        assert email.status == "pending"
        assert email.last_error
        sink.start()
        # Retries are driven by the dispatcher; run it until the email is out.
        assert wait_for(lambda: outbox_dispatch_task() is not None and confirmations(sink, order_id), timeout=20)
        time.sleep(1.5)
        outbox_dispatch_task()
        time.sleep(1)
    assert len(confirmations(sink, order_id)) == 1
    email.refresh_from_db()
    assert email.status == "sent"
