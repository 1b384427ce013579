"""simplejwt's access-token authentication, paying once per token for what never changes.

- The token: verifying a JWT (its signature, then its claims, twice over in
  PyJWT and simplejwt) gives the same answer every time for the same bytes,
  but its expiry. A token that verified is kept (per process, up to
  ``TOKENS_KEPT``) and served again while its ``exp`` is ahead of the clock;
  anything else — an unknown token, one near or past its expiry — goes
  through simplejwt's own checks, which give their own answers and errors.
- The user is read on every request, as it must be (a deactivated user is
  refused at once), but through a prepared query: simplejwt's
  ``objects.get()`` costs about 0.5 ms of Python to build and compile the
  same query each time. The checks are simplejwt's: missing user, inactive
  user, a password changed since the token was issued.
"""

import time
from typing import Any

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import get_md5_hash_password

from config.db.prepared import Prepared

TOKENS_KEPT = 4096
_verified: dict[bytes, Token] = {}
_users = Prepared(lambda user_id: get_user_model().objects.filter(**{api_settings.USER_ID_FIELD: user_id}).order_by())


class JWTAuthentication(authentication.JWTAuthentication):
    def get_validated_token(self, raw_token: bytes) -> Token:
        token = _verified.get(raw_token)
        if token is not None and time.time() < token.payload.get("exp", 0):
            return token
        token = super().get_validated_token(raw_token)  # raises for a token that is not (or no longer) valid
        if len(_verified) >= TOKENS_KEPT:
            _verified.clear()
        _verified[raw_token] = token
        return token

    def get_user(self, validated_token: Token) -> Any:
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken(_("Token contained no recognizable user identification")) from exc
        user = _user(user_id)
        if user is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed(_("The user's password has been changed."), code="password_changed")
        return user


def _user(user_id: Any) -> Any:
    """The user a token names (an integer id, or its digits), or None."""
    if isinstance(user_id, str) and user_id.isascii() and user_id.isdigit():
        user_id = int(user_id)
    if type(user_id) is not int:
        return None
    found = _users.instances(user_id=user_id)
    return found[0] if found else None


class JWTScheme(SimpleJWTScheme):
    """The schema's security scheme for it: simplejwt's, under the same name."""

    target_class = "config.api.authentication.JWTAuthentication"
