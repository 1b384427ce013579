"""Reads of users, already limited to what the caller may see."""

from django.db.models import QuerySet, Value
from django.db.models.functions import Lower

from users.models import User, normalize_email


def user_list() -> QuerySet[User]:
    """Every account, for staff (inactive ones included: their orders are kept)."""
    return User.objects.order_by("id")


def email_taken(email: str, *, exclude_id: int | None = None) -> bool:
    """Emails are stored normalised, so this is exactly the UNIQUE constraint's test."""
    users = User.objects.filter(email=normalize_email(email))
    if exclude_id is not None:
        users = users.exclude(id=exclude_id)
    return users.exists()


def username_taken(username: str, *, exclude_id: int | None = None) -> bool:
    """The database's own LOWER(), as in the unique index: ``iexact`` compares
    with UPPER(), which disagrees on letters such as ß and ẞ."""
    users = User.objects.alias(username_lower=Lower("username")).filter(username_lower=Lower(Value(username)))
    if exclude_id is not None:
        users = users.exclude(id=exclude_id)
    return users.exists()
