"""Order emails through a real Celery worker, a real broker and a real SMTP
server: nothing lost when the broker or the mail server is down, nothing sent
twice. Needs PostgreSQL (the worker reads the test database) and
CELERY_BROKER_URL; skipped with a reason otherwise."""

import os
import signal
import subprocess
import time
import uuid
from datetime import timedelta

import pytest

from notifications.models import OutboxEmail
from notifications.services import outbox_message_id
from notifications.tasks import outbox_dispatch_task
from tests.conftest import ON_POSTGRES
from tests.factories import make_product
from tests.support.services import HungServer, SmtpSink, celery_process, free_port, publishing_to, wait_for

BROKER = os.environ.get("CELERY_BROKER_URL", "")
pytestmark = [
    pytest.mark.skipif(not (ON_POSTGRES and BROKER), reason="needs DATABASE_URL=postgres://… and CELERY_BROKER_URL"),
    pytest.mark.django_db(transaction=True),
]

ORDERS = "/api/v1/orders/"


def worker(queue: str, sink: SmtpSink, tmp_path, **env: str):
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


def place_order(client, request_id: str = "") -> tuple[int, float]:
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
    # queued it: the drain that request queued with Redis (notifications.services), the
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


# --- Outages of any length, and a worker that dies mid-send ------------------------------


def beat(queue: str, tmp_path, **env: str):
    """Celery beat with its clock compressed: the dispatcher and the check of
    the mail server every second."""
    return celery_process(
        "beat",
        queue=queue,
        tmp_path=tmp_path,
        env={"OUTBOX_DISPATCH_SECONDS": "1", "OUTBOX_REVIVE_SECONDS": "1", "OUTBOX_REDISPATCH_SECONDS": "2", **env},
    )


def email_row() -> OutboxEmail:
    return OutboxEmail.objects.get(kind="order_confirmation")


def test_a_mail_server_down_longer_than_the_old_give_up_time_loses_no_email(customer_api, sink, queue, tmp_path):
    """The old outbox failed an email for good after 8 attempts. With the
    backoff compressed to under a second, the server stays down for many more
    attempts than that; the email waits, and goes out once it is back."""
    sink.stop()
    with worker(queue, sink, tmp_path, OUTBOX_REDISPATCH_SECONDS="1"), beat(queue, tmp_path):
        order_id, _ = place_order(customer_api)
        assert wait_for(lambda: email_row().attempts > 12, timeout=60), email_row().attempts
        email = email_row()
        assert (email.status, email.failure) == ("pending", "unreachable")
        sink.start()
        assert wait_for(lambda: confirmations(sink, order_id), timeout=20)
        time.sleep(2)  # a duplicate would have arrived by now
    assert len(confirmations(sink, order_id)) == 1
    email = email_row()
    assert (email.status, email.failure, email.last_error) == ("sent", "", "")


def test_waiting_emails_go_out_as_soon_as_the_mail_server_answers_not_at_their_retry_time(
    customer_api, sink, queue, tmp_path
):
    """Each email backs off on its own (here: at least 10 minutes, as after a
    long outage), yet all of them go out within seconds of the server being
    back: beat's check of the server wakes them."""
    sink.stop()
    slow = {"OUTBOX_RETRY_BASE_SECONDS": "600", "OUTBOX_RETRY_CAP_SECONDS": "3600"}
    with worker(queue, sink, tmp_path, **slow), beat(queue, tmp_path, **slow):
        order_ids = [place_order(customer_api)[0] for _ in range(3)]
        failed_once = lambda: OutboxEmail.objects.filter(failure="unreachable", attempts=1).count() == 3  # noqa: E731
        assert wait_for(failed_once, timeout=30), list(OutboxEmail.objects.values_list("attempts", "failure"))
        assert all(e.next_attempt_at - e.created_at > timedelta(minutes=9) for e in OutboxEmail.objects.all())
        back = time.monotonic()
        sink.start()
        assert wait_for(lambda: all(confirmations(sink, order_id) for order_id in order_ids), timeout=30)
        took = time.monotonic() - back
        time.sleep(2)
    assert took < 30
    assert sorted(len(confirmations(sink, order_id)) for order_id in order_ids) == [1, 1, 1]
    assert set(OutboxEmail.objects.values_list("status", flat=True)) == {"sent"}


def test_a_worker_killed_between_sending_and_recording_leaves_the_email_to_another(
    customer_api, queue, tmp_path
) -> None:
    """The mail server takes the message and the worker dies before the
    outbox records it: after the lease another worker sends it again, under
    the same Message-ID, so the reader's mail client shows it once."""
    victim: list[subprocess.Popen] = []

    def kill_the_worker(message) -> None:
        if len(killer.messages) == 1:
            victim[0].send_signal(signal.SIGKILL)

    killer = SmtpSink(on_message=kill_the_worker)
    killer.start()
    try:
        lease = {"OUTBOX_LEASE_SECONDS": "3"}
        with worker(queue, killer, tmp_path, **lease) as first:
            victim.append(first)
            order_id, _ = place_order(customer_api)
            assert wait_for(lambda: first.poll() is not None, timeout=20), "the worker was not killed"
        email = email_row()
        assert (email.status, email.attempts) == ("pending", 1)  # leased, never recorded
        assert email.leased_until is not None

        (tmp_path / "second").mkdir()
        with worker(queue, killer, tmp_path / "second", **lease), beat(queue, tmp_path, **lease):
            assert wait_for(lambda: email_row().status == "sent", timeout=30)
            time.sleep(2)
    finally:
        killer.stop()
    sent = [m for m in killer.messages if f"order {order_id} " in m["Subject"]]
    assert len(sent) == 2
    assert sent[0]["Message-ID"] == sent[1]["Message-ID"] == outbox_message_id(email)
    assert email_row().attempts == 2
