"""Assertions on the contract's shapes, shared by the users tests."""

import json
from typing import Any

from django.http import HttpResponse
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import DEFAULT_PASSWORD
from users.models import User

REGISTER = "/api/v1/auth/register/"
TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/users/me/"
USERS = "/api/v1/users/"

USER_FIELDS = {"id", "email", "username", "full_name", "is_staff", "date_joined"}
STRONG_PASSWORD = "s3cret-Passw0rd!-kiwi"
_UNSET: Any = object()


def user_url(user_id: int | str) -> str:
    return f"{USERS}{user_id}/"


def assert_envelope(
    response: HttpResponse, status: int, *, type: str | None = None, code: str | None = None, attr: Any = _UNSET
) -> list[dict[str, Any]]:
    """The one error shape of the contract; returns its errors.

    With ``code`` (and ``attr``) one of the errors must match them.
    """
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    assert set(body) == {"type", "errors"}, body
    expected_type = type or ("server_error" if status >= 500 else None)
    assert body["type"] in {"validation_error", "client_error", "server_error"}, body
    if expected_type:
        assert body["type"] == expected_type, body
    errors = body["errors"]
    assert isinstance(errors, list) and errors, body
    for error in errors:
        assert set(error) == {"code", "detail", "attr"}, error
        assert isinstance(error["code"], str) and error["code"], error
        assert isinstance(error["detail"], str) and error["detail"], error
        assert error["attr"] is None or isinstance(error["attr"], str), error
    if code is not None:
        matches = [e for e in errors if e["code"] == code and (attr is _UNSET or e["attr"] == attr)]
        assert matches, f"no error with code={code!r} attr={attr!r} in {errors}"
    elif attr is not _UNSET:
        assert any(e["attr"] == attr for e in errors), f"no error on attr={attr!r} in {errors}"
    return errors


def assert_validation_error(response: HttpResponse, attr: str | None, code: str | None = None) -> list[dict[str, Any]]:
    return assert_envelope(response, 400, type="validation_error", code=code, attr=attr)


def assert_single_error(response: HttpResponse, status: int, code: str) -> dict[str, Any]:
    """A non-validation error: exactly one error, about no field."""
    errors = assert_envelope(response, status, type="client_error", code=code, attr=None)
    assert len(errors) == 1, errors
    return errors[0]


def sign_in(client: Any, user: User, password: str = DEFAULT_PASSWORD) -> dict[str, str]:
    response = client.post(TOKEN, {"email": user.email, "password": password})
    assert response.status_code == 200, response.content
    return response.json()


def refresh_for(user: User) -> str:
    return str(RefreshToken.for_user(user))
