"""Register, sign in (token), refresh and log out: the auth half of the users contract."""

import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken
from rest_framework_simplejwt.utils import aware_utcnow

from tests.conftest import requires_postgres
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.users.helpers import (
    LOGOUT,
    ME,
    REFRESH,
    REGISTER,
    STRONG_PASSWORD,
    TOKEN,
    USER_FIELDS,
    USERS,
    assert_envelope,
    assert_single_error,
    assert_validation_error,
    refresh_for,
    sign_in,
)
from users import selectors
from users.models import User

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]


def registration(**overrides: object) -> dict[str, object]:
    return {"email": "ann@example.com", "username": "ann", "password": STRONG_PASSWORD, **overrides}


def bearer_client(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


# --- Register ----------------------------------------------------------------


def test_register_creates_a_customer_and_returns_the_user(anon):
    r = anon.post(REGISTER, registration(full_name="Ann Smith"))

    assert r.status_code == 201, r.content
    body = r.json()
    assert set(body) == USER_FIELDS
    assert body["email"] == "ann@example.com"
    assert body["username"] == "ann"
    assert body["full_name"] == "Ann Smith"
    assert body["is_staff"] is False
    assert body["date_joined"].endswith("Z")
    user = User.objects.get(id=body["id"])
    assert user.is_active and not user.is_staff and not user.is_superuser


def test_register_full_name_is_optional_and_defaults_to_blank(anon):
    r = anon.post(REGISTER, registration())

    assert r.status_code == 201, r.content
    assert r.json()["full_name"] == ""


def test_register_stores_the_email_lower_cased(anon):
    r = anon.post(REGISTER, registration(email="  Ann.Smith@Example.COM "))

    assert r.status_code == 201, r.content
    assert r.json()["email"] == "ann.smith@example.com"
    assert User.objects.get().email == "ann.smith@example.com"


def test_register_stores_only_a_hash_of_the_password(anon):
    anon.post(REGISTER, registration())

    user = User.objects.get()
    assert user.password != STRONG_PASSWORD
    assert user.password.startswith("argon2")
    assert user.check_password(STRONG_PASSWORD)


def test_register_then_sign_in_with_the_new_account(anon):
    anon.post(REGISTER, registration())

    r = anon.post(TOKEN, {"email": "ann@example.com", "password": STRONG_PASSWORD})

    assert r.status_code == 200, r.content
    assert bearer_client(r.json()["access"]).get(ME).json()["username"] == "ann"


def test_register_keeps_spaces_at_the_ends_of_a_password_and_sign_in_accepts_them(anon):
    padded = f"  {STRONG_PASSWORD}  "
    assert anon.post(REGISTER, registration(password=padded)).status_code == 201

    assert anon.post(TOKEN, {"email": "ann@example.com", "password": padded}).status_code == 200
    assert anon.post(TOKEN, {"email": "ann@example.com", "password": STRONG_PASSWORD}).status_code == 401


@pytest.mark.parametrize("email", ["ann@example.com", "ANN@example.com", "Ann@Example.Com"])
def test_register_rejects_duplicate_email_case_insensitively(anon, email):
    UserFactory.create(email="ann@example.com", username="someone")

    r = anon.post(REGISTER, registration(email=email))

    errors = assert_validation_error(r, "email", "unique")
    assert [e["attr"] for e in errors] == ["email"]
    assert User.objects.count() == 1


@pytest.mark.parametrize("username", ["ann", "ANN", "aNn"])
def test_register_rejects_duplicate_username_case_insensitively(anon, username):
    UserFactory.create(email="someone@example.com", username="Ann")

    r = anon.post(REGISTER, registration(username=username))

    errors = assert_validation_error(r, "username", "unique")
    assert [e["attr"] for e in errors] == ["username"]
    assert User.objects.count() == 1


def test_register_reports_a_taken_email_and_a_taken_username_together(anon):
    UserFactory.create(email="ann@example.com", username="ann")

    r = anon.post(REGISTER, registration(email="ANN@example.com", username="ANN"))

    errors = assert_validation_error(r, "email", "unique")
    assert {e["attr"] for e in errors} == {"email", "username"}


@requires_postgres
@pytest.mark.parametrize(("taken", "username"), [("ẞig", "ßIG"), ("ΣΟΦΙΑ", "σοφια")])
def test_register_rejects_a_username_that_differs_only_in_unicode_case_on_username(anon, taken, username):
    UserFactory.create(username=taken)

    r = anon.post(REGISTER, registration(username=username))

    errors = assert_validation_error(r, "username", "unique")
    assert [e["attr"] for e in errors] == ["username"]


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("Sh0rt!", "password_too_short"),
        ("password123", "password_too_common"),
        ("8273645190123", "password_entirely_numeric"),
        ("ann@example.com", "password_too_similar"),
    ],
)
def test_register_rejects_a_weak_password_on_password(anon, password, code):
    r = anon.post(REGISTER, registration(password=password))

    errors = assert_validation_error(r, "password", code)
    assert {e["attr"] for e in errors} == {"password"}
    assert not User.objects.exists()


def test_register_reports_a_weak_password_and_a_taken_email_together(anon):
    UserFactory.create(email="ann@example.com")

    r = anon.post(REGISTER, registration(password="password"))

    errors = assert_validation_error(r, "password", "password_too_common")
    assert {e["attr"] for e in errors} == {"email", "password"}


@pytest.mark.parametrize("missing", ["email", "username", "password"])
def test_register_requires_email_username_and_password(anon, missing):
    body = registration()
    del body[missing]

    r = anon.post(REGISTER, body)

    assert_validation_error(r, missing, "required")
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "not-an-email"),
        ("email", ""),
        ("email", None),
        ("username", "ann smith"),
        ("username", "ann!"),
        ("username", ""),
        ("username", "a" * 151),
        ("password", ""),
        ("password", "x" * 129),
        ("full_name", "n" * 151),
        ("full_name", None),
    ],
)
def test_register_rejects_invalid_fields_on_that_attr(anon, field, value):
    r = anon.post(REGISTER, registration(**{field: value}))

    assert_validation_error(r, field)
    assert not User.objects.exists()


@pytest.mark.parametrize("field", ["is_staff", "is_superuser", "is_active", "id", "date_joined", "nickname"])
def test_register_rejects_unknown_fields_on_that_attr(anon, field):
    r = anon.post(REGISTER, registration(**{field: True}))

    assert_validation_error(r, field, "unknown_field")
    assert not User.objects.exists()


def test_register_cannot_make_a_staff_account(anon):
    r = anon.post(REGISTER, registration(is_staff=True, is_superuser=True))

    errors = assert_validation_error(r, "is_staff", "unknown_field")
    assert {e["attr"] for e in errors} == {"is_staff", "is_superuser"}
    assert not User.objects.filter(is_staff=True).exists()


def test_register_sends_exactly_one_welcome_email_to_the_user(anon, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        r = anon.post(REGISTER, registration(full_name="Ann Smith"))

    assert r.status_code == 201, r.content
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ann@example.com"]
    assert message.subject == "Welcome to Stockroom"
    assert "Ann Smith" in message.body and "ann@example.com" in message.body
    assert [mimetype for _, mimetype in message.alternatives] == ["text/html"]
    assert STRONG_PASSWORD not in message.body


def test_register_sends_the_welcome_email_only_after_commit(anon, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        r = anon.post(REGISTER, registration())

    assert r.status_code == 201, r.content
    assert mail.outbox == []  # nothing was sent inside the request's transaction
    for callback in callbacks:
        callback()
    assert [m.to for m in mail.outbox] == [["ann@example.com"]]


def test_register_sends_no_email_when_rejected(anon, django_capture_on_commit_callbacks):
    UserFactory.create(email="ann@example.com")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        r = anon.post(REGISTER, registration())

    assert r.status_code == 400
    assert callbacks == []
    assert mail.outbox == []


def test_register_rejects_malformed_json(anon):
    r = anon.post(REGISTER, data='{"email": "ann@example.com",', content_type="application/json")

    assert_single_error(r, 400, "parse_error")


@pytest.mark.parametrize("body", ["[]", "[1, 2]", '"ann"', "42", "null"])
def test_register_rejects_json_that_is_not_an_object(anon, body):
    r = anon.post(REGISTER, data=body, content_type="application/json")

    errors = assert_envelope(r, 400, type="validation_error")
    assert all(e["attr"] is None for e in errors), errors


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("text/plain", "email=ann@example.com"),
        ("application/x-www-form-urlencoded", "email=ann%40example.com&username=ann&password=x"),
        ("application/xml", "<user/>"),
    ],
)
def test_register_rejects_a_body_that_is_not_json_with_415(anon, content_type, data):
    r = anon.post(REGISTER, data=data, content_type=content_type)

    assert_single_error(r, 415, "unsupported_media_type")
    assert not User.objects.exists()


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_register_allows_only_post(anon, method):
    r = getattr(anon, method)(REGISTER)

    assert_single_error(r, 405, "method_not_allowed")


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_racing_registrations_of_one_email_make_one_account_and_a_400_on_email(monkeypatch):
    barrier = threading.Barrier(2, timeout=10)
    waited = threading.local()
    check = selectors.email_taken

    def email_taken_then_wait(email, **kwargs):
        taken = check(email, **kwargs)
        if not getattr(waited, "done", False):
            waited.done = True
            barrier.wait()  # both requests have found the email free
        return taken

    monkeypatch.setattr(selectors, "email_taken", email_taken_then_wait)
    responses = []

    def register(username):
        try:
            responses.append(APIClient().post(REGISTER, registration(email="Ann@Example.com", username=username)))
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(name,)) for name in ("ann1", "ann2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(r.status_code for r in responses) == [201, 400]
    rejected = next(r for r in responses if r.status_code == 400)
    assert_validation_error(rejected, "email", "unique")
    assert User.objects.filter(email="ann@example.com").count() == 1


# --- Token (sign in) ----------------------------------------------------------


def test_token_returns_an_access_and_a_refresh_token(anon, customer):
    r = anon.post(TOKEN, {"email": customer.email, "password": DEFAULT_PASSWORD})

    assert r.status_code == 200, r.content
    body = r.json()
    assert set(body) == {"access", "refresh"}
    assert AccessToken(body["access"])["user_id"] == str(customer.id)
    assert RefreshToken(body["refresh"])["user_id"] == str(customer.id)
    assert bearer_client(body["access"]).get(ME).json()["id"] == customer.id


def test_token_matches_the_email_case_insensitively(anon, customer):
    r = anon.post(TOKEN, {"email": customer.email.upper(), "password": DEFAULT_PASSWORD})

    assert r.status_code == 200, r.content


def test_token_rejects_a_wrong_password_with_401(anon, customer):
    r = anon.post(TOKEN, {"email": customer.email, "password": DEFAULT_PASSWORD + "x"})

    assert_single_error(r, 401, "no_active_account")
    assert r["WWW-Authenticate"].startswith("Bearer")


def test_token_rejects_an_unknown_email_exactly_like_a_wrong_password(anon, customer):
    wrong_password = anon.post(TOKEN, {"email": customer.email, "password": "nope-nope-nope"})
    unknown_email = anon.post(TOKEN, {"email": "nobody@example.com", "password": "nope-nope-nope"})

    assert_single_error(unknown_email, 401, "no_active_account")
    assert unknown_email.json() == wrong_password.json()


def test_token_rejects_an_inactive_account_with_401(anon):
    user = UserFactory.create(is_active=False)

    r = anon.post(TOKEN, {"email": user.email, "password": DEFAULT_PASSWORD})

    assert_single_error(r, 401, "no_active_account")


def test_token_rejects_an_account_without_a_usable_password(anon):
    user = UserFactory.create()
    user.set_unusable_password()
    user.save()

    r = anon.post(TOKEN, {"email": user.email, "password": user.password})

    assert_single_error(r, 401, "no_active_account")


@pytest.mark.parametrize("missing", ["email", "password"])
def test_token_requires_email_and_password(anon, customer, missing):
    body = {"email": customer.email, "password": DEFAULT_PASSWORD}
    del body[missing]

    r = anon.post(TOKEN, body)

    assert_validation_error(r, missing, "required")


@pytest.mark.parametrize("field", ["username", "remember_me", "is_staff"])
def test_token_rejects_unknown_fields_on_that_attr(anon, customer, field):
    r = anon.post(TOKEN, {"email": customer.email, "password": DEFAULT_PASSWORD, field: "x"})

    assert_validation_error(r, field, "unknown_field")


def test_token_rejects_malformed_json_and_other_content_types(anon):
    assert_single_error(anon.post(TOKEN, data="{", content_type="application/json"), 400, "parse_error")
    assert_single_error(anon.post(TOKEN, data="x", content_type="text/plain"), 415, "unsupported_media_type")


def test_token_allows_only_post(anon):
    assert_single_error(anon.get(TOKEN), 405, "method_not_allowed")


def test_access_tokens_live_15_minutes_and_refresh_tokens_7_days_by_default(anon, customer):
    body = sign_in(anon, customer)

    access, refresh = AccessToken(body["access"]), RefreshToken(body["refresh"])
    assert access["exp"] - access["iat"] == 15 * 60
    assert refresh["exp"] - refresh["iat"] == 7 * 24 * 3600


def test_jwt_lifetimes_follow_jwt_access_minutes_and_jwt_refresh_days():
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "jwt = settings.SIMPLE_JWT; "
        "print(int(jwt['ACCESS_TOKEN_LIFETIME'].total_seconds()), int(jwt['REFRESH_TOKEN_LIFETIME'].total_seconds()))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "JWT_ACCESS_MINUTES": "5",
        "JWT_REFRESH_DAYS": "2",
    }

    out = subprocess.run(
        [sys.executable, "-c", script], cwd=BASE_DIR, env=env, capture_output=True, text=True, check=True
    )

    assert out.stdout.split() == [str(5 * 60), str(2 * 24 * 3600)]


def _access_issued(user, minutes_ago):
    """An access token with the configured lifetime, issued ``minutes_ago``."""
    token = AccessToken.for_user(user)
    token.current_time = aware_utcnow() - timedelta(minutes=minutes_ago)
    token.set_iat()
    token.set_exp()
    return str(token)


def test_an_access_token_works_until_its_15_minutes_are_up(customer):
    r = bearer_client(_access_issued(customer, minutes_ago=14)).get(ME)

    assert r.status_code == 200, r.content


def test_an_expired_access_token_is_rejected_with_401(customer):
    r = bearer_client(_access_issued(customer, minutes_ago=16)).get(ME)

    assert_single_error(r, 401, "token_not_valid")
    assert r["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda user: "garbage", id="garbage"),
        pytest.param(lambda user: str(AccessToken.for_user(user))[:-4] + "AAAA", id="bad-signature"),
        pytest.param(lambda user: refresh_for(user), id="refresh-token-as-access"),
        pytest.param(lambda user: "", id="empty"),
    ],
)
def test_an_invalid_access_token_is_rejected_with_401_and_one_error(customer, make_token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(customer)}".strip())

    r = client.get(ME)

    errors = assert_envelope(r, 401, type="client_error", attr=None)
    assert len(errors) == 1, errors


def test_an_access_token_of_a_deleted_account_is_rejected_with_401(customer):
    client = bearer_client(str(AccessToken.for_user(customer)))
    customer.delete()

    r = client.get(ME)

    assert_single_error(r, 401, "user_not_found")


def test_a_malformed_authorization_header_is_rejected_with_401(customer):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer two parts")

    assert_single_error(client.get(ME), 401, "bad_authorization_header")


# --- Refresh ------------------------------------------------------------------


def test_refresh_returns_a_new_pair_with_a_new_refresh_token(anon, customer):
    old = sign_in(anon, customer)["refresh"]

    r = anon.post(REFRESH, {"refresh": old})

    assert r.status_code == 200, r.content
    body = r.json()
    assert set(body) == {"access", "refresh"}
    assert body["refresh"] != old
    assert RefreshToken(body["refresh"])["user_id"] == str(customer.id)
    assert bearer_client(body["access"]).get(ME).json()["id"] == customer.id


def test_refresh_rejects_a_refresh_token_that_was_already_used(anon, customer):
    old = sign_in(anon, customer)["refresh"]
    assert anon.post(REFRESH, {"refresh": old}).status_code == 200

    r = anon.post(REFRESH, {"refresh": old})

    assert_single_error(r, 401, "token_not_valid")


def test_refresh_tokens_rotate_down_a_chain_each_working_once(anon, customer):
    token = sign_in(anon, customer)["refresh"]
    for _ in range(3):
        r = anon.post(REFRESH, {"refresh": token})
        assert r.status_code == 200, r.content
        assert anon.post(REFRESH, {"refresh": token}).status_code == 401
        token = r.json()["refresh"]


def test_refresh_new_refresh_token_also_lives_7_days(anon, customer):
    body = anon.post(REFRESH, {"refresh": refresh_for(customer)}).json()

    refresh = RefreshToken(body["refresh"])
    assert refresh["exp"] - refresh["iat"] == 7 * 24 * 3600


def test_refresh_rejects_an_access_token(anon, customer):
    r = anon.post(REFRESH, {"refresh": str(AccessToken.for_user(customer))})

    assert_single_error(r, 401, "token_not_valid")


@pytest.mark.parametrize("token", ["garbage", "a.b.c"])
def test_refresh_rejects_a_malformed_token(anon, token):
    assert_single_error(anon.post(REFRESH, {"refresh": token}), 401, "token_not_valid")


def test_refresh_rejects_an_expired_refresh_token(anon, customer):
    token = RefreshToken.for_user(customer)
    token.set_exp(from_time=aware_utcnow() - timedelta(days=8))

    assert_single_error(anon.post(REFRESH, {"refresh": str(token)}), 401, "token_not_valid")


def test_refresh_rejects_the_token_of_an_inactive_account(anon, customer):
    token = refresh_for(customer)
    User.objects.filter(id=customer.id).update(is_active=False)

    assert_single_error(anon.post(REFRESH, {"refresh": token}), 401, "token_not_valid")


def test_refresh_rejects_the_token_of_a_deleted_account(anon, customer):
    token = refresh_for(customer)
    customer.delete()

    assert_single_error(anon.post(REFRESH, {"refresh": token}), 401, "token_not_valid")


def test_refresh_ignores_an_expired_access_token_in_the_header(customer):
    client = bearer_client(_access_issued(customer, minutes_ago=30))

    r = client.post(REFRESH, {"refresh": refresh_for(customer)})

    assert r.status_code == 200, r.content


def test_refresh_requires_the_refresh_field(anon):
    assert_validation_error(anon.post(REFRESH, {}), "refresh", "required")
    assert_validation_error(anon.post(REFRESH, {"refresh": ""}), "refresh", "blank")


def test_refresh_rejects_unknown_fields_on_that_attr(anon, customer):
    r = anon.post(REFRESH, {"refresh": refresh_for(customer), "access": "x"})

    assert_validation_error(r, "access", "unknown_field")


def test_refresh_allows_only_post(anon):
    assert_single_error(anon.get(REFRESH), 405, "method_not_allowed")


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_racing_refreshes_with_one_token_give_one_new_pair(monkeypatch):
    token = refresh_for(UserFactory.create())
    barrier = threading.Barrier(2, timeout=10)
    check = RefreshToken.check_blacklist

    def check_then_wait(self):
        check(self)
        barrier.wait()  # both requests have found the token not yet used

    monkeypatch.setattr(RefreshToken, "check_blacklist", check_then_wait)
    responses = []

    def refresh():
        try:
            responses.append(APIClient().post(REFRESH, {"refresh": token}))
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(r.status_code for r in responses) == [200, 401]
    assert_single_error(next(r for r in responses if r.status_code == 401), 401, "token_not_valid")


# --- Logout -------------------------------------------------------------------


def test_logout_revokes_the_refresh_token(anon, customer):
    pair = sign_in(anon, customer)

    r = bearer_client(pair["access"]).post(LOGOUT, {"refresh": pair["refresh"]})

    assert r.status_code == 204, r.content
    assert r.content == b""
    assert_single_error(anon.post(REFRESH, {"refresh": pair["refresh"]}), 401, "token_not_valid")


def test_logout_revokes_a_rotated_refresh_token(anon, customer):
    pair = anon.post(REFRESH, {"refresh": sign_in(anon, customer)["refresh"]}).json()

    assert bearer_client(pair["access"]).post(LOGOUT, {"refresh": pair["refresh"]}).status_code == 204

    assert_single_error(anon.post(REFRESH, {"refresh": pair["refresh"]}), 401, "token_not_valid")


def test_logout_leaves_the_other_sessions_signed_in(anon, customer):
    laptop, phone = sign_in(anon, customer), sign_in(anon, customer)

    assert bearer_client(laptop["access"]).post(LOGOUT, {"refresh": laptop["refresh"]}).status_code == 204

    assert anon.post(REFRESH, {"refresh": phone["refresh"]}).status_code == 200


def test_logout_requires_a_signed_in_user(anon, customer):
    r = anon.post(LOGOUT, {"refresh": refresh_for(customer)})

    assert_single_error(r, 401, "not_authenticated")


def test_logout_twice_with_the_same_token_is_401(customer_api, customer):
    token = refresh_for(customer)
    assert customer_api.post(LOGOUT, {"refresh": token}).status_code == 204

    assert_single_error(customer_api.post(LOGOUT, {"refresh": token}), 401, "token_not_valid")


def test_logout_cannot_revoke_someone_elses_refresh_token(anon, customer_api, other_customer):
    theirs = refresh_for(other_customer)

    assert_single_error(customer_api.post(LOGOUT, {"refresh": theirs}), 401, "token_not_valid")

    assert anon.post(REFRESH, {"refresh": theirs}).status_code == 200


@pytest.mark.parametrize("token", ["garbage", None])
def test_logout_rejects_a_token_that_is_not_a_refresh_token(customer_api, customer, token):
    token = token or str(AccessToken.for_user(customer))

    assert_single_error(customer_api.post(LOGOUT, {"refresh": token}), 401, "token_not_valid")


def test_logout_requires_the_refresh_field(customer_api):
    assert_validation_error(customer_api.post(LOGOUT, {}), "refresh", "required")


def test_logout_rejects_unknown_fields_on_that_attr(customer_api, customer):
    r = customer_api.post(LOGOUT, {"refresh": refresh_for(customer), "everywhere": True})

    assert_validation_error(r, "everywhere", "unknown_field")


def test_logout_allows_only_post(customer_api):
    assert_single_error(customer_api.get(LOGOUT), 405, "method_not_allowed")


# --- createsuperuser ----------------------------------------------------------


def test_createsuperuser_noinput_reads_the_environment_and_the_superuser_can_sign_in(anon, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "Root@Example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "root")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", STRONG_PASSWORD)

    call_command("createsuperuser", interactive=False, verbosity=0)

    user = User.objects.get()
    assert (user.email, user.username) == ("root@example.com", "root")
    assert user.is_staff and user.is_superuser and user.is_active
    pair = anon.post(TOKEN, {"email": "root@example.com", "password": STRONG_PASSWORD}).json()
    admin = bearer_client(pair["access"])
    assert admin.get(ME).json()["is_staff"] is True
    assert admin.get(USERS).status_code == 200
