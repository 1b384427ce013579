"""OWASP API2:2023 Broken authentication.

Only an access token the server signed itself with HS256, unexpired, of an
active account, is accepted; every forged, altered, expired or revoked token
is a 401 in the envelope that grants nothing. Sign-in is rate limited per
client address and never tells which part of the credentials was wrong.

Already proved elsewhere, not repeated here: a refresh token used as an access
token, a malformed header, a deleted account (tests/users/test_api_auth.py);
the lifetimes; deactivation revoking every refresh token
(tests/users/test_api_users.py); spoofed X-Forwarded-For
(tests/config/test_api_ratelimit.py).
"""

import time
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.security.forge import b64url, b64url_decode, decode_unverified, hs, rs256, unsigned
from tests.security.helpers import assert_single_error, snapshot
from tests.users.helpers import LOGOUT, ME, REFRESH, TOKEN, USERS
from users import services as user_services
from users.models import User

pytestmark = pytest.mark.django_db


def _claims(user: User) -> dict[str, Any]:
    return dict(AccessToken.for_user(user).payload)


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _with_signature_flipped(token: str) -> str:
    head, body, signature = token.split(".")
    raw = bytearray(b64url_decode(signature))
    raw[0] ^= 0x01
    return f"{head}.{body}.{b64url(bytes(raw))}"


def _edited(token: str, **changes: Any) -> str:
    """A genuine token with claims changed in its payload, its signature kept."""
    head, _, signature = token.split(".")
    payload = unsigned({}, {**decode_unverified(token)[1], **changes}).split(".")[1]
    return f"{head}.{payload}.{signature}"


def _deactivated(customer: User, staff: User) -> str:
    token = str(AccessToken.for_user(staff))
    user_services.user_deactivate(user=staff)
    return token


# Every one of these claims the staff account, so accepting any would be an escalation.
FORGED_ACCESS: dict[str, Callable[[User, User], str]] = {
    "expired": lambda c, s: hs({**_claims(s), "exp": int(time.time()) - 1}),
    "without-expiry": lambda c, s: hs({k: v for k, v in _claims(s).items() if k != "exp"}),
    "payload-tampered": lambda c, s: _edited(str(AccessToken.for_user(c)), user_id=str(s.id)),
    "signature-tampered": lambda c, s: _with_signature_flipped(str(AccessToken.for_user(s))),
    "signature-stripped": lambda c, s: str(AccessToken.for_user(s)).rsplit(".", 1)[0] + ".",
    "alg-none": lambda c, s: unsigned({"alg": "none", "typ": "JWT"}, _claims(s)),
    "alg-None": lambda c, s: unsigned({"alg": "None", "typ": "JWT"}, _claims(s)),
    "alg-NONE-with-signature": lambda c, s: unsigned({"alg": "NONE"}, _claims(s), b"x" * 32),
    "rs256-attacker-key-pair-with-jwk": lambda c, s: rs256(_claims(s)),
    "rs256-attacker-key-pair": lambda c, s: rs256(_claims(s), embed_public_key=False),
    "hs256-attacker-key": lambda c, s: hs(_claims(s), "attacker-secret-attacker-secret-attacker-secret"),
    "hs256-empty-key": lambda c, s: hs(_claims(s), b""),
    "hs256-kid-path-traversal-empty-key": lambda c, s: hs(_claims(s), b"", kid="../../../../dev/null"),
    "hs512-the-servers-own-key": lambda c, s: hs(_claims(s), alg="HS512"),
    "deactivated-account": _deactivated,
}


def test_the_forger_makes_tokens_the_server_accepts_when_they_are_genuine(customer):
    """The control for the table below: the same claims, HS256 with the
    server's key, are accepted, so each refusal is about what was forged."""
    staff = UserFactory.create(is_staff=True)

    r = _bearer(hs(_claims(staff))).get(USERS)

    assert r.status_code == 200, r.content


@pytest.mark.parametrize("path", [ME, USERS], ids=["me", "staff-only-users"])
@pytest.mark.parametrize("name", FORGED_ACCESS)
def test_a_forged_expired_or_deactivated_access_token_is_401_and_grants_nothing(customer, name, path):
    staff = UserFactory.create(is_staff=True, email="the-staff@example.com")
    token = FORGED_ACCESS[name](customer, staff)
    before = snapshot()

    r = _bearer(token).get(path)

    error = assert_single_error(r, 401, "user_inactive" if name == "deactivated-account" else "token_not_valid")
    assert r["WWW-Authenticate"].startswith("Bearer"), error
    assert b"the-staff@example.com" not in r.content
    assert snapshot() == before


def _signed_in(client: APIClient, user: User) -> dict[str, str]:
    r = client.post(TOKEN, {"email": user.email, "password": DEFAULT_PASSWORD})
    assert r.status_code == 200, r.content
    return r.json()


def _revoked_by_logout(anon: APIClient, user: User) -> str:
    pair = _signed_in(anon, user)
    assert _bearer(pair["access"]).post(LOGOUT, {"refresh": pair["refresh"]}).status_code == 204
    return pair["refresh"]


def _reused_after_rotation(anon: APIClient, user: User) -> str:
    refresh = _signed_in(anon, user)["refresh"]
    assert anon.post(REFRESH, {"refresh": refresh}).status_code == 200
    return refresh


def _refresh_claims(user: User) -> dict[str, Any]:
    return dict(RefreshToken.for_user(user).payload)


FORGED_REFRESH: dict[str, Callable[[APIClient, User], str]] = {
    "revoked-by-logout": _revoked_by_logout,
    "reused-after-rotation": _reused_after_rotation,
    "alg-none": lambda a, u: unsigned({"alg": "none", "typ": "JWT"}, _refresh_claims(u)),
    "rs256-attacker-key-pair-with-jwk": lambda a, u: rs256(_refresh_claims(u)),
    "hs256-attacker-key": lambda a, u: hs(_refresh_claims(u), "attacker-secret-attacker-secret-attacker-secret"),
    "hs512-the-servers-own-key": lambda a, u: hs(_refresh_claims(u), alg="HS512"),
    "payload-tampered-to-never-expire": lambda a, u: _edited(str(RefreshToken.for_user(u)), exp=2**40),
}


@pytest.mark.parametrize("name", FORGED_REFRESH)
def test_a_revoked_reused_or_forged_refresh_token_is_401_and_mints_nothing(anon, customer, name):
    refresh = FORGED_REFRESH[name](anon, customer)
    before = snapshot()

    r = anon.post(REFRESH, {"refresh": refresh})

    assert_single_error(r, 401, "token_not_valid")
    assert "access" not in r.json()
    assert snapshot() == before


def test_login_brute_force_is_cut_off_after_the_limit_even_for_the_right_password(anon, settings):
    """RATE_LIMIT_AUTH is per client address: guessing across many accounts
    spends one budget, and once it is spent even the right password is refused."""
    settings.RATE_LIMIT_AUTH = "5/min"
    victims = UserFactory.create_batch(3)
    guesses = [(victims[i % 3].email, f"guess-{i}") for i in range(4)] + [("nobody@example.com", "guess")]

    refused = [anon.post(TOKEN, {"email": email, "password": password}) for email, password in guesses]
    sixth = anon.post(TOKEN, {"email": victims[0].email, "password": DEFAULT_PASSWORD})

    for r in refused:
        assert_single_error(r, 401, "no_active_account")
    assert_single_error(sixth, 429, "throttled")
    assert int(sixth["Retry-After"]) >= 1
    assert sixth["X-RateLimit-Remaining"] == "0"
    assert "access" not in sixth.json()


def test_sign_in_answers_alike_for_a_wrong_password_an_unknown_email_and_a_deactivated_account(anon):
    """Nothing in the answer tells an attacker which accounts exist."""
    known = UserFactory.create()
    gone = UserFactory.create()
    user_services.user_deactivate(user=gone)

    answers = [
        anon.post(TOKEN, {"email": known.email, "password": "not-the-password"}),
        anon.post(TOKEN, {"email": "nobody-here@example.com", "password": "not-the-password"}),
        anon.post(TOKEN, {"email": gone.email, "password": DEFAULT_PASSWORD}),
    ]

    for r in answers:
        assert_single_error(r, 401, "no_active_account")
    assert len({(r.status_code, r.content) for r in answers}) == 1
