"""Writes of users: one function per use case, each owning its transaction."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from config.domain_errors import Problem
from users import selectors
from users.emails import welcome_email_enqueue
from users.errors import RegistrationRejected
from users.models import User, normalize_email


def _uniqueness_problems(*, email: str | None, username: str | None, exclude_id: int | None) -> list[Problem]:
    problems = []
    if email is not None and selectors.email_taken(email, exclude_id=exclude_id):
        problems.append(Problem("unique", "A user with this email already exists.", "email"))
    if username is not None and selectors.username_taken(username, exclude_id=exclude_id):
        problems.append(Problem("unique", "A user with this username already exists.", "username"))
    return problems


@transaction.atomic
def user_register(*, email: str, username: str, password: str, full_name: str = "") -> User:
    """Create a customer account and queue the welcome email after commit.

    Uniqueness is checked up front for a clear error and enforced by the
    database's case-insensitive UNIQUE constraints against a racing twin.
    """
    email = normalize_email(email)
    candidate = User(email=email, username=username, full_name=full_name)
    problems = _uniqueness_problems(email=email, username=username, exclude_id=None)
    try:
        validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        problems += [Problem(e.code or "invalid", e.messages[0], "password") for e in exc.error_list]
    if problems:
        raise RegistrationRejected(tuple(problems))
    try:
        with transaction.atomic():
            user = User.objects.create_user(email, username, password, full_name=full_name)
    except IntegrityError:
        raise RegistrationRejected(
            tuple(_uniqueness_problems(email=email, username=username, exclude_id=None))
            or (Problem("unique", "A user with this email or username already exists.", "email"),)
        ) from None
    welcome_email_enqueue(user=user)
    return user


@transaction.atomic
def user_update_profile(*, user: User, username: str | None = None, full_name: str | None = None) -> User:
    problems = _uniqueness_problems(email=None, username=username, exclude_id=user.id)
    if problems:
        raise RegistrationRejected(tuple(problems))
    if username is not None:
        user.username = username
    if full_name is not None:
        user.full_name = full_name
    try:
        with transaction.atomic():
            user.save(update_fields=["username", "full_name"])
    except IntegrityError:
        raise RegistrationRejected(Problem("unique", "A user with this username already exists.", "username")) from None
    return user


@transaction.atomic
def user_deactivate(*, user: User) -> User:
    """Deactivate an account: it can no longer sign in, and every refresh
    token it holds is revoked. Its orders are kept."""
    user.is_active = False
    user.save(update_fields=["is_active"])
    outstanding = OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False)
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in outstanding], ignore_conflicts=True)
    return user


def _refresh_token(encoded: str) -> RefreshToken:
    """simplejwt's RefreshToken of an encoded token; it takes the string,
    though its annotation says a Token."""
    return RefreshToken(encoded)  # type: ignore[arg-type]


@transaction.atomic
def refresh_token_rotate(*, refresh: str) -> dict[str, str]:
    """Trade a refresh token for a new access and refresh pair; the old one is
    revoked, so it works once.

    The blacklist row is the lock: its UNIQUE(token) lets only one of two
    requests racing with the same token insert it; the other gets nothing.
    Raises simplejwt's ``TokenError`` for a token that is malformed, expired,
    used, revoked, or whose account is gone or inactive.
    """
    token = _refresh_token(refresh)  # checks signature, expiry, type and the blacklist
    user = User.objects.filter(id=token.get(jwt_settings.USER_ID_CLAIM)).first()
    if user is None or not user.is_active:
        raise TokenError("No active account found for the given token.")
    outstanding, _ = OutstandingToken.objects.get_or_create(
        jti=token[jwt_settings.JTI_CLAIM],
        defaults={
            "user": user,
            "token": refresh,
            "created_at": token.current_time,
            "expires_at": datetime_from_epoch(token["exp"]),
        },
    )
    _, revoked_now = BlacklistedToken.objects.get_or_create(token=outstanding)
    if not revoked_now:
        raise TokenError("Token is blacklisted")
    new = RefreshToken.for_user(user)
    return {"access": str(new.access_token), "refresh": str(new)}


def refresh_token_revoke(*, user: User, refresh: str) -> None:
    """Log out: revoke one refresh token of this user.

    Raises simplejwt's ``TokenError`` for a token that is malformed, expired,
    already revoked or not this user's.
    """
    token = _refresh_token(refresh)
    if str(token.get("user_id")) != str(user.id):
        raise TokenError("Token is invalid or expired")
    token.blacklist()
