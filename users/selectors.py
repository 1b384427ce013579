"""Reads of users, already limited to what the caller may see."""

from django.db.models import QuerySet

from users.models import User


def user_list() -> QuerySet[User]:
    """Every account, for staff (inactive ones included: their orders are kept)."""
    return User.objects.order_by("id")


def email_taken(email: str, *, exclude_id: int | None = None) -> bool:
    return User.objects.filter(email__iexact=email).exclude(id=exclude_id).exists()


def username_taken(username: str, *, exclude_id: int | None = None) -> bool:
    return User.objects.filter(username__iexact=username).exclude(id=exclude_id).exists()
