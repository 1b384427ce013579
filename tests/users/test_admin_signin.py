"""Failed sign-ins to /admin/login/ are limited per account from one client
address (5) and per client address (20) within 15 minutes, then refused for
15 minutes with a clear message, even with the right password; logged and
counted. The API's token endpoint keeps its own per-address rate limit only.

Every test starts with an empty cache (tests/conftest.py), so no test sees
another's failures."""

import logging
import time
from typing import Any

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.test import Client
from rest_framework.test import APIClient

from config.platform import breaker
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.support.metrics import metric
from tests.support.threads import run_together
from tests.users.helpers import TOKEN
from users.models import User

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"
WRONG = "not-the-password-1"
INVALID = "Please enter the correct email and password for a staff account."
LOCKED_ACCOUNT = "Too many failed sign-ins for this account from your address. Try again in 15 minutes"
LOCKED_IP = "Too many failed sign-ins from your address. Try again in 15 minutes"
RIGHT_PASSWORD_REFUSED = "until then even the right password is refused"


def sign_in(client: Client, email: str, password: str, ip: str = "127.0.0.1", **headers: Any) -> Any:
    return client.post(LOGIN, {"username": email, "password": password, "next": "/admin/"}, REMOTE_ADDR=ip, **headers)


def signed_in(response: Any) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


def page(response: Any) -> str:
    assert response.status_code == 200, response.status_code  # the login form again
    return response.content.decode()


def fail(client: Client, email: str, times: int, ip: str = "127.0.0.1", **headers: Any) -> list[str]:
    return [page(sign_in(client, email, WRONG, ip, **headers)) for _ in range(times)]


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every Argon2 hash computed: checking a password (verify), or making one
    (encode: a new user's, or the one Django computes for an unknown email so
    that it takes as long). Spied on Argon2 itself: the test-sized hasher
    inherits both, and Django verifies with whichever hasher of that name
    comes last."""
    computed: list[str] = []
    for name in ("verify", "encode"):
        original = getattr(Argon2PasswordHasher, name)

        def spy(self: Any, *args: Any, _original: Any = original, _name: str = name) -> Any:
            computed.append(_name)
            return _original(self, *args)

        monkeypatch.setattr(Argon2PasswordHasher, name, spy)
    return computed


# --- per account from one address ------------------------------------------------------


def test_five_failures_lock_the_account_from_that_address_even_with_the_right_password(client, staff):
    pages = fail(client, staff.email, 5)

    assert all(INVALID in p for p in pages)
    assert not any(LOCKED_ACCOUNT in p for p in pages[:4])
    assert LOCKED_ACCOUNT in pages[4]  # the fifth says so at once
    locked = page(sign_in(client, staff.email, DEFAULT_PASSWORD))
    assert LOCKED_ACCOUNT in locked and RIGHT_PASSWORD_REFUSED in locked
    assert INVALID not in locked  # the password was not even looked at
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_four_failures_do_not_lock(client, staff):
    fail(client, staff.email, 4)

    assert signed_in(sign_in(client, staff.email, DEFAULT_PASSWORD))


def test_a_locked_attempt_computes_no_password_hash(client, staff, hashes):
    fail(client, staff.email, 5)
    assert hashes.count("verify") == 5

    page(sign_in(client, staff.email, DEFAULT_PASSWORD))
    page(sign_in(client, staff.email, WRONG))

    assert len(hashes) == 5


def test_the_account_is_locked_from_that_address_only_never_for_everyone(client, staff):
    fail(client, staff.email, 5, ip="203.0.113.7")

    assert LOCKED_ACCOUNT in page(sign_in(client, staff.email, DEFAULT_PASSWORD, ip="203.0.113.7"))
    assert signed_in(sign_in(Client(), staff.email, DEFAULT_PASSWORD, ip="198.51.100.20"))


def test_the_login_is_counted_whatever_its_case(client, staff):
    for variant in (staff.email.upper(), staff.email, f"  {staff.email.title()}", staff.email, staff.email.upper()):
        page(sign_in(client, variant, WRONG))

    assert LOCKED_ACCOUNT in page(sign_in(client, staff.email, DEFAULT_PASSWORD))


def test_an_unknown_email_is_counted_like_any_other(client, staff):
    pages = fail(client, "nobody@example.com", 5)

    assert LOCKED_ACCOUNT in pages[4]
    assert signed_in(sign_in(client, staff.email, DEFAULT_PASSWORD))  # another account from there: fine


def test_a_successful_sign_in_clears_the_accounts_count_from_that_address(client, staff):
    fail(client, staff.email, 4)
    assert signed_in(sign_in(client, staff.email, DEFAULT_PASSWORD))
    client.logout()

    pages = fail(client, staff.email, 4)

    assert not any(LOCKED_ACCOUNT in p for p in pages)
    assert signed_in(sign_in(client, staff.email, DEFAULT_PASSWORD))


# --- per address ---------------------------------------------------------------------------


def test_twenty_failures_from_one_address_lock_it_for_every_account(client, staff):
    others = UserFactory.create_batch(5, is_staff=True)
    pages = [p for user in others for p in fail(client, user.email, 4)]  # no account reaches 5

    assert not any("Too many" in p for p in pages[:19])
    assert LOCKED_IP in pages[19]
    refused = page(sign_in(client, staff.email, DEFAULT_PASSWORD))  # an account never tried
    assert LOCKED_IP in refused and RIGHT_PASSWORD_REFUSED in refused
    assert signed_in(sign_in(Client(), staff.email, DEFAULT_PASSWORD, ip="198.51.100.20"))


def test_an_ipv6_client_is_counted_by_its_64(client, staff):
    for host in range(1, 6):  # a fresh address of the same /64 for each guess
        page(sign_in(client, staff.email, WRONG, ip=f"2001:db8:1:2::{host:x}"))

    assert LOCKED_ACCOUNT in page(sign_in(client, staff.email, DEFAULT_PASSWORD, ip="2001:db8:1:2:ffff::1"))
    assert signed_in(sign_in(Client(), staff.email, DEFAULT_PASSWORD, ip="2001:db8:1:3::1"))


def test_behind_a_trusted_proxy_each_forwarded_client_is_counted_apart(client, staff, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    fail(client, staff.email, 5, ip="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7")

    assert LOCKED_ACCOUNT in page(
        sign_in(client, staff.email, DEFAULT_PASSWORD, ip="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7")
    )
    other = sign_in(Client(), staff.email, DEFAULT_PASSWORD, ip="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.20")
    assert signed_in(other)


def test_an_untrusted_client_cannot_dodge_the_limit_with_x_forwarded_for(client, staff):
    for n in range(5):
        page(sign_in(client, staff.email, WRONG, ip="203.0.113.7", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}"))

    assert LOCKED_ACCOUNT in page(sign_in(client, staff.email, DEFAULT_PASSWORD, ip="203.0.113.7"))


# --- settings and time -------------------------------------------------------------------


def test_the_limits_come_from_the_settings(client, staff, settings):
    settings.ADMIN_LOGIN_FAILURES_PER_ACCOUNT = 2
    settings.ADMIN_LOGIN_FAILURES_PER_IP = 3
    settings.ADMIN_LOGIN_LOCKOUT_MINUTES = 1

    account, ip = fail(client, staff.email, 2)[1], fail(client, "x@example.com", 1)[0]

    assert "Too many failed sign-ins for this account from your address. Try again in 1 minute;" in account
    assert "Too many failed sign-ins from your address. Try again in 1 minute;" in ip


def test_limits_that_make_no_sense_fail_the_system_checks(settings):
    from django.core.checks import run_checks

    settings.ADMIN_LOGIN_FAILURES_PER_IP = 0

    assert [e.id for e in run_checks(tags=["security"]) if e.id.startswith("users.")] == ["users.E001"]


def test_the_lock_ends_after_the_lockout(client, staff, settings):
    settings.ADMIN_LOGIN_LOCKOUT_MINUTES = 0.02  # 1.2 s
    settings.ADMIN_LOGIN_FAILURES_PER_ACCOUNT = 2
    fail(client, staff.email, 2)
    assert "Try again in 1 minute;" in page(sign_in(client, staff.email, DEFAULT_PASSWORD))

    time.sleep(1.5)

    assert signed_in(sign_in(client, staff.email, DEFAULT_PASSWORD))


def test_failures_are_forgotten_after_a_lockout_without_one(client, staff, settings):
    settings.ADMIN_LOGIN_LOCKOUT_MINUTES = 0.02  # 1.2 s
    settings.ADMIN_LOGIN_FAILURES_PER_ACCOUNT = 2
    fail(client, staff.email, 1)

    time.sleep(1.5)
    pages = fail(client, staff.email, 1)

    assert "Too many" not in pages[0]
    assert signed_in(sign_in(client, staff.email, DEFAULT_PASSWORD))


def test_failures_less_than_a_lockout_apart_lock_however_the_window_falls(client, staff, settings):
    settings.ADMIN_LOGIN_LOCKOUT_MINUTES = 0.05  # 3 s
    settings.ADMIN_LOGIN_FAILURES_PER_ACCOUNT = 3
    pages = fail(client, staff.email, 1)
    for _ in range(2):  # the third comes 4 s after the first (a window placed there has ended), 2 s after the second
        time.sleep(2)
        pages += fail(client, staff.email, 1)

    assert LOCKED_ACCOUNT.replace("15 minutes", "1 minute") in pages[2]


# --- logged and counted ------------------------------------------------------------------


def test_each_failure_is_logged_with_the_account_and_address_never_the_password(client, staff, caplog):
    with caplog.at_level(logging.WARNING, logger="users.signin_limits"):
        fail(client, staff.email, 5, ip="203.0.113.7")
        page(sign_in(client, staff.email, DEFAULT_PASSWORD, ip="203.0.113.7"))

    lines = [r.getMessage() for r in caplog.records if r.name == "users.signin_limits"]
    assert len(lines) == 6
    assert all(staff.email in line and "203.0.113.7" in line for line in lines)
    assert sum("sign-in failed" in line for line in lines) == 5
    assert "refused unchecked" in lines[5] and "account limit" in lines[5]
    assert not any(WRONG in line or DEFAULT_PASSWORD in line for line in lines)


def test_failures_are_counted_in_metrics_by_reason(client, staff):
    bad = metric("stockroom_admin_login_failures_total", reason="bad_credentials")
    locked = metric("stockroom_admin_login_failures_total", reason="locked")

    fail(client, staff.email, 5)
    page(sign_in(client, staff.email, DEFAULT_PASSWORD))
    page(sign_in(client, staff.email, WRONG))

    assert metric("stockroom_admin_login_failures_total", reason="bad_credentials") == bad + 5
    assert metric("stockroom_admin_login_failures_total", reason="locked") == locked + 2


def test_a_customer_signing_in_to_the_admin_counts_as_a_failure(client):
    customer = UserFactory.create()
    pages = [page(sign_in(client, customer.email, DEFAULT_PASSWORD)) for _ in range(5)]

    assert all(INVALID in p for p in pages)
    assert LOCKED_ACCOUNT in pages[4]


# --- the API's token endpoint: its rate limit, no lockout ------------------------------


def test_the_api_token_endpoint_is_not_locked_by_admin_failures(client, staff):
    fail(client, staff.email, 5)
    assert LOCKED_ACCOUNT in page(sign_in(client, staff.email, DEFAULT_PASSWORD))

    r = APIClient().post(TOKEN, {"email": staff.email, "password": DEFAULT_PASSWORD}, format="json")

    assert r.status_code == 200, r.content
    assert "access" in r.json()


def test_token_endpoint_failures_do_not_lock_the_admin(client, staff):
    api = APIClient()
    for _ in range(6):
        assert api.post(TOKEN, {"email": staff.email, "password": WRONG}, format="json").status_code == 401

    assert signed_in(sign_in(client, staff.email, DEFAULT_PASSWORD))


# --- a cache that fails: the password is still checked, unlimited, and it is said -------------


class BrokenCache:
    """A cache whose every call fails, as Redis down does; it keeps the calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        def broken(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            raise ConnectionError("Redis is down")

        return broken


def test_if_the_cache_fails_sign_ins_are_checked_by_password_unlimited_and_logged(
    client, staff, monkeypatch, caplog, settings
):
    settings.REDIS_URL = ""  # the store's failure itself, not the pause after it (config.platform.breaker)
    monkeypatch.setattr("users.signin_limits.cache", BrokenCache())
    monkeypatch.setattr(breaker, "_down_until", 0.0)  # restored after the test
    failures = metric("stockroom_rate_limiter_failures_total")

    with caplog.at_level(logging.WARNING, logger="users.signin_limits"):
        pages = fail(client, staff.email, 6)
        ok = sign_in(client, staff.email, DEFAULT_PASSWORD)

    assert all(INVALID in p and "Too many" not in p for p in pages)
    assert signed_in(ok)
    assert metric("stockroom_rate_limiter_failures_total") >= failures + 7
    assert any("limits unavailable" in r.getMessage() for r in caplog.records)


def test_while_redis_rests_after_a_failure_sign_ins_do_not_wait_on_it(client, staff, monkeypatch, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # as configured; never asked while it rests
    broken = BrokenCache()
    monkeypatch.setattr("users.signin_limits.cache", broken)
    monkeypatch.setattr(breaker, "_down_until", time.monotonic() + 60)  # restored after the test
    failures = metric("stockroom_rate_limiter_failures_total")

    pages = fail(client, staff.email, 6)

    assert all(INVALID in p and "Too many" not in p for p in pages)
    assert signed_in(sign_in(client, staff.email, DEFAULT_PASSWORD))
    assert metric("stockroom_rate_limiter_failures_total") == failures + 7
    assert broken.calls == []


# --- a burst side by side gets no more guesses than the limit ----------------------------


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_attempts_side_by_side_checks_no_more_passwords_than_the_limit(hashes, monkeypatch):
    staff = UserFactory.create(is_staff=True)
    hashes.clear()  # making the user's
    checked = Argon2PasswordHasher.verify

    def slow(self: Any, *args: Any) -> Any:
        time.sleep(0.3)  # every attempt reaches the limits before the first failure is written
        return checked(self, *args)

    monkeypatch.setattr(Argon2PasswordHasher, "verify", slow)

    pages = run_together(lambda: page(sign_in(Client(), staff.email, WRONG)), threads=12)

    assert len(hashes) == 5
    assert sum(INVALID in p for p in pages) == 5
    assert sum(LOCKED_ACCOUNT in p and INVALID not in p for p in pages) == 7
    assert LOCKED_ACCOUNT in page(sign_in(Client(), staff.email, DEFAULT_PASSWORD))
    assert User.objects.get(pk=staff.pk).last_login is None
