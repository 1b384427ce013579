"""A verified access token is not verified again — but its expiry and a
deactivated user still refuse it at once."""

import time

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from config.api import authentication

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me/"


def client_with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_a_kept_token_is_refused_once_it_expires(customer, monkeypatch):
    token = AccessToken.for_user(customer)
    client = client_with(str(token))
    assert client.get(ME).status_code == 200
    assert str(token).encode() in authentication._verified

    later = token["exp"] + 1
    monkeypatch.setattr(authentication.time, "time", lambda: later)
    from rest_framework_simplejwt import tokens

    monkeypatch.setattr(tokens, "aware_utcnow", lambda: tokens.datetime_from_epoch(later))
    r = client.get(ME)
    assert r.status_code == 401, r.content


def test_a_kept_token_of_a_deactivated_user_is_refused(customer):
    client = client_with(str(AccessToken.for_user(customer)))
    assert client.get(ME).status_code == 200
    customer.is_active = False
    customer.save(update_fields=["is_active"])
    assert client.get(ME).status_code == 401


def test_a_token_with_one_byte_changed_is_not_the_kept_one(customer):
    token = str(AccessToken.for_user(customer))
    assert client_with(token).get(ME).status_code == 200
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-2]}{'A' if signature[-2] != 'A' else 'B'}{signature[-1]}"
    assert client_with(forged).get(ME).status_code == 401


def test_the_kept_tokens_are_bounded(customer, monkeypatch):
    monkeypatch.setattr(authentication, "TOKENS_KEPT", 3)
    for _ in range(10):
        token = AccessToken.for_user(customer)
        token["jti"] = f"jti-{time.monotonic_ns()}"
        assert client_with(str(token)).get(ME).status_code == 200
        assert len(authentication._verified) <= 3
