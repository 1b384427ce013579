"""OWASP API8:2023 Security misconfiguration.

In production mode (DEBUG off, as every test runs) a failure shows no debug
page, traceback, SQL or exception text — from a DRF view or from Django
itself; a forged Host header is refused; every response carries the security
headers (and HSTS over HTTPS); plain HTTP is redirected; CORS grants no origin
unless configured.

Already proved elsewhere, not repeated: `manage.py check --deploy` is clean with
production settings, SECRET_KEY is required without DEBUG, an unknown URL is a
404 in the envelope, CORS is closed by default and opens to a configured origin
(tests/config/test_deploy.py); /metrics refuses addresses not allowed
(tests/config/test_observability.py); the admin refuses non-staff
(tests/users/test_admin.py).
"""

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.conftest import bearer
from tests.factories import UserFactory
from tests.security.helpers import assert_envelope, assert_single_error, call, operations

pytestmark = pytest.mark.django_db

SECRET_BITS = ("Traceback", "RuntimeError", "SELECT", "a secret", 'File "', ".py", "DEBUG", "settings")


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("SELECT password FROM users_user -- a secret that must not leave the server")


def _assert_bare_500(r: Any) -> None:
    errors = assert_envelope(r, 500, type="server_error", code="error", attr=None)
    assert len(errors) == 1, errors
    for bit in SECRET_BITS:
        assert bit not in r.content.decode(), (bit, r.content)


@pytest.mark.parametrize(
    ("target", "who", "method", "path", "body"),
    [
        ("inventory.selectors.product_list", "anonymous", "GET", "/api/v1/products/", None),
        ("orders.selectors.order_list", "customer", "GET", "/api/v1/orders/", None),
        ("users.services.user_update_profile", "customer", "PATCH", "/api/v1/users/me/", {"full_name": "X"}),
        ("orders.selectors.top_customers", "staff", "GET", "/api/v1/reports/top-customers/", None),
    ],
)
def test_a_failing_view_answers_a_bare_500_in_the_envelope(monkeypatch, settings, target, who, method, path, body):
    settings.DEBUG = False
    monkeypatch.setattr(target, _boom)
    client = APIClient() if who == "anonymous" else bearer(APIClient(), UserFactory.create(is_staff=who == "staff"))

    _assert_bare_500(call(client, method, path, body))


@pytest.mark.urls("tests.security.urls")
def test_a_failure_outside_drf_is_a_bare_500_too(settings):
    settings.DEBUG = False
    client = APIClient(raise_request_exception=False)

    _assert_bare_500(client.get("/api/v1/plain-failure/"))
    page = client.get("/admin/plain-failure/")  # the admin gets Django's plain page
    assert page.status_code == 500
    for bit in SECRET_BITS:
        assert bit not in page.content.decode(), (bit, page.content)


def test_a_host_not_allowed_is_a_400_in_the_envelope_naming_nothing():
    r = APIClient(raise_request_exception=False).get("/api/v1/products/", HTTP_HOST="attacker.example")

    assert_single_error(r, 400, "bad_request")
    assert b"ALLOWED_HOSTS" not in r.content and b"attacker.example" not in r.content


SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/products/", 200),
        ("/api/v1/users/me/", 401),
        ("/api/v1/nowhere/", 404),
        ("/api/schema/", 200),
        ("/api/docs/", 200),
        ("/admin/login/", 200),
        ("/healthz", 200),
    ],
)
def test_every_kind_of_response_carries_the_security_headers_and_hsts_over_https(path, status):
    r = APIClient().get(path, secure=True)

    assert r.status_code == status, r.content[:300]
    assert {h: r.get(h) for h in SECURITY_HEADERS} == SECURITY_HEADERS
    assert r["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_plain_http_is_redirected_to_https_in_production(settings):
    settings.SECURE_SSL_REDIRECT = True  # the production default; the test run turns it off

    r = APIClient().get("/api/v1/products/", HTTP_HOST="localhost")

    assert r.status_code == 301
    assert r["Location"] == "https://localhost/api/v1/products/"


@pytest.mark.parametrize("path", sorted({path for _, path in operations()}))
def test_no_foreign_origin_is_granted_cors_on_any_path(path):
    client = bearer(APIClient(), UserFactory.create(is_staff=True))
    headers = {"HTTP_ORIGIN": "https://attacker.example"}

    preflight = client.options(
        path.replace("{id}", "1"),
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type",
        **headers,
    )
    actual = client.get(path.replace("{id}", "1"), **headers)

    for r in (preflight, actual):
        granted = {k.lower() for k in r.headers if k.lower().startswith("access-control-allow")}
        assert granted == set(), (path, dict(r.headers))
