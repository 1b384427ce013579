"""Request ids, structured request logs, /metrics, /healthz and /readyz."""

import logging
import re

import pytest
import structlog
from prometheus_client.parser import text_string_to_metric_families

from config.platform.observability import _attach_request_id, _bind_request_id, _unbind_request_id, request_id_from
from tests.factories import make_product
from tests.support.logs import request_lines
from tests.support.metrics import metric

pytestmark = pytest.mark.django_db

RESPONSES = "django_http_responses_total_by_status_view_method_total"


def test_a_sane_request_id_is_echoed_and_logged(anon, capsys):
    r = anon.get("/api/v1/products/", HTTP_X_REQUEST_ID="client-id_42.a:b")
    assert r["X-Request-ID"] == "client-id_42.a:b"
    (line,) = request_lines(capsys.readouterr().err)
    assert line["request_id"] == "client-id_42.a:b"
    assert line["method"] == "GET"
    assert line["path"] == "/api/v1/products/"
    assert line["view"] == "product-list"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0
    assert line["user_id"] is None
    assert line["client_ip"] == "127.0.0.1"
    assert line["queries"] >= 1
    assert (line["event"], line["level"], line["logger"]) == ("request", "info", "stockroom.request")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z", line["timestamp"]), line["timestamp"]


@pytest.mark.parametrize("given", [None, "", "has spaces", "x" * 129, "new\nline", "<script>"])
def test_a_missing_or_insane_request_id_is_replaced_by_a_generated_one(anon, given):
    headers = {} if given is None else {"HTTP_X_REQUEST_ID": given}
    r = anon.get("/healthz", **headers)
    generated = r["X-Request-ID"]
    assert generated != given
    assert len(generated) == 32
    int(generated, 16)  # hex


def test_the_request_log_names_the_signed_in_user(customer_api, customer, capsys):
    customer_api.get("/api/v1/users/me/")
    (line,) = request_lines(capsys.readouterr().err)
    assert line["user_id"] == customer.id
    assert line["view"] == "user-me"


def test_below_its_level_the_request_line_is_not_written(anon, capsys):
    """LOG_LEVEL=WARNING (the level ``logging`` gives ``stockroom.request``
    when the client's middleware is built, at its first request)."""
    logger = logging.getLogger("stockroom.request")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        assert anon.get("/healthz").status_code == 200
    finally:
        logger.setLevel(level)
    assert capsys.readouterr().err == ""


def test_in_development_the_request_line_is_readable_not_json(anon, capsys, settings):
    settings.LOG_FORMAT = "console"
    anon.get("/healthz", HTTP_X_REQUEST_ID="dev-1")
    (written,) = capsys.readouterr().err.splitlines()
    assert not written.startswith("{")
    assert "request" in written and "request_id=dev-1" in written and "status=200" in written, written


class _BrokenPipe:
    """stderr whose reader has gone (a log collector that died)."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize("stream", [_BrokenPipe(), "closed"])
def test_a_request_line_that_cannot_be_written_is_counted_and_the_request_served(anon, monkeypatch, stream, tmp_path):
    if stream == "closed":
        stream = (tmp_path / "stderr").open("w")
        stream.close()
    before = metric("stockroom_log_write_failures_total")
    monkeypatch.setattr("sys.stderr", stream)  # taken by the client's middleware at its first request
    r = anon.get("/api/v1/products/")
    monkeypatch.undo()
    assert r.status_code == 200
    assert metric("stockroom_log_write_failures_total") == before + 1


def test_generated_ids_are_unique():
    assert len({request_id_from(None) for _ in range(100)}) == 100


def test_a_task_published_by_a_request_logs_under_the_request_id(caplog) -> None:
    """What a worker does with the header (a real worker is proved in
    tests/orders/test_email_delivery.py)."""
    structlog.contextvars.bind_contextvars(request_id="req-123")
    headers: dict = {}
    _attach_request_id(headers=headers)
    structlog.contextvars.clear_contextvars()
    assert headers == {"request_id": "req-123"}

    class FakeRequest:
        request_id = headers["request_id"]

    class FakeTask:
        request = FakeRequest()

    task = FakeTask()
    caplog.set_level(logging.INFO, logger="stockroom.task")
    _bind_request_id(task=task)
    structlog.get_logger("stockroom.task").info("sending")
    _unbind_request_id(task=task)
    (record,) = [r for r in caplog.records if r.name == "stockroom.task"]
    assert record.msg["request_id"] == "req-123"
    assert structlog.contextvars.get_contextvars() == {}


def test_healthz_touches_nothing(anon, django_assert_num_queries):
    with django_assert_num_queries(0):
        r = anon.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_readyz_answers_200_when_everything_answers(anon):
    r = anon.get("/readyz")
    assert r.status_code == 200, r.content
    assert r.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok", "broker": "ok"}}


def metric_value(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def test_metrics_parse_and_count_a_request_we_made(anon, customer_api):
    before = metric_value(anon.get("/metrics").content.decode(), RESPONSES, view="product-list", status="200")
    anon.get("/api/v1/products/")
    product = make_product(stock=3)
    customer_api.post("/api/v1/orders/", {"lines": [{"product_id": product.id, "quantity": 1}]}, format="json")
    r = anon.get("/metrics")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/plain")
    text = r.content.decode()
    assert metric_value(text, RESPONSES, view="product-list", status="200") == before + 1
    names = {f.name for f in text_string_to_metric_families(text)}
    for expected in (
        "django_http_requests_latency_seconds_by_view_method",
        "stockroom_db_queries_per_request",
        "stockroom_cache_requests",
        "stockroom_rate_limit_rejections",
        "stockroom_orders_placed",
        "stockroom_orders_cancelled",
        "stockroom_outbox_emails",
    ):
        assert expected in names, expected
    assert metric_value(text, "stockroom_outbox_emails", status="pending") >= 0


def test_metrics_are_refused_from_an_address_not_allowed(anon):
    r = anon.get("/metrics", REMOTE_ADDR="10.1.2.3")
    assert r.status_code == 403
    assert r.json()["errors"][0]["code"] == "permission_denied"


def test_metrics_allowed_ips_takes_ranges(anon, settings):
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert anon.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert anon.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
