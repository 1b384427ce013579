"""The account behind a request that only signed-in users reach."""

from django.http import HttpRequest
from rest_framework.request import Request

from users.models import User


def signed_in_user(request: Request | HttpRequest) -> User:
    """The account of a request that a permission (IsAuthenticated, IsStaff,
    the admin's login) has let through: never the AnonymousUser."""
    user = request.user
    assert isinstance(user, User), "a view for signed-in users let an anonymous request through"
    return user
