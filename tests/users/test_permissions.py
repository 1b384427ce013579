"""Who may call what, over every users endpoint.

Anonymous on a protected endpoint → 401; a customer on a staff-only one → 403;
staff on the superuser-only delete → 403. Each refusal is in the envelope and
changes nothing.
"""

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.conftest import bearer
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.users.helpers import (
    LOGOUT,
    ME,
    REFRESH,
    REGISTER,
    STRONG_PASSWORD,
    TOKEN,
    USERS,
    assert_single_error,
    refresh_for,
    user_url,
)
from users.models import User

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "customer", "staff", "superuser")
_fresh = itertools.count()


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: Callable[[User], str]  # given the target account
    body: Callable[[User | None], dict[str, Any] | None]  # given the caller
    expected: dict[str, int]


def _new_account(caller: User | None) -> dict[str, Any]:
    n = next(_fresh)
    return {"email": f"fresh{n}@example.com", "username": f"fresh{n}", "password": STRONG_PASSWORD}


def _credentials(caller: User | None) -> dict[str, Any]:
    user = caller or UserFactory.create()
    return {"email": user.email, "password": DEFAULT_PASSWORD}


def _own_refresh(caller: User | None) -> dict[str, Any]:
    return {"refresh": refresh_for(caller or UserFactory.create())}


ENDPOINTS = [
    Endpoint("register", "post", lambda t: REGISTER, _new_account, dict.fromkeys(ROLES, 201)),
    Endpoint("token", "post", lambda t: TOKEN, _credentials, dict.fromkeys(ROLES, 200)),
    Endpoint("refresh", "post", lambda t: REFRESH, _own_refresh, dict.fromkeys(ROLES, 200)),
    Endpoint(
        "logout",
        "post",
        lambda t: LOGOUT,
        _own_refresh,
        {"anonymous": 401, "customer": 204, "staff": 204, "superuser": 204},
    ),
    Endpoint(
        "me", "get", lambda t: ME, lambda c: None, {"anonymous": 401, "customer": 200, "staff": 200, "superuser": 200}
    ),
    Endpoint(
        "me-patch",
        "patch",
        lambda t: ME,
        lambda c: {"full_name": "Changed"},
        {"anonymous": 401, "customer": 200, "staff": 200, "superuser": 200},
    ),
    Endpoint(
        "user-list",
        "get",
        lambda t: USERS,
        lambda c: None,
        {"anonymous": 401, "customer": 403, "staff": 200, "superuser": 200},
    ),
    Endpoint(
        "user-search",
        "get",
        lambda t: f"{USERS}?search=example",
        lambda c: None,
        {"anonymous": 401, "customer": 403, "staff": 200, "superuser": 200},
    ),
    Endpoint(
        "user-detail",
        "get",
        lambda t: user_url(t.id),
        lambda c: None,
        {"anonymous": 401, "customer": 403, "staff": 200, "superuser": 200},
    ),
    Endpoint(
        "user-delete",
        "delete",
        lambda t: user_url(t.id),
        lambda c: None,
        {"anonymous": 401, "customer": 403, "staff": 403, "superuser": 204},
    ),
]


def _caller(role: str) -> User | None:
    if role == "anonymous":
        return None
    return UserFactory.create(is_staff=role in ("staff", "superuser"), is_superuser=role == "superuser")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_permission_matrix(role, endpoint):
    caller = _caller(role)
    target = UserFactory.create()
    client = APIClient() if caller is None else bearer(APIClient(), caller)

    r = getattr(client, endpoint.method)(endpoint.path(target), endpoint.body(caller))

    expected = endpoint.expected[role]
    if expected == 401:
        assert_single_error(r, 401, "not_authenticated")
        assert r["WWW-Authenticate"].startswith("Bearer")
    elif expected == 403:
        assert_single_error(r, 403, "permission_denied")
    else:
        assert r.status_code == expected, r.content
    target.refresh_from_db()
    assert target.is_active is (endpoint.name != "user-delete" or expected != 204)


def test_every_users_route_is_in_the_matrix():
    """A new route in users/urls.py must join ENDPOINTS above."""
    from users import urls

    routes = {str(p.pattern) for p in urls.urlpatterns}
    assert routes == {
        "auth/register/",
        "auth/token/",
        "auth/token/refresh/",
        "auth/logout/",
        "users/me/",
        "^users/$",
        "^users/(?P<pk>[^/.]+)/$",
    }


def test_a_customer_cannot_read_their_own_record_through_the_staff_detail(customer_api, customer):
    assert_single_error(customer_api.get(user_url(customer.id)), 403, "permission_denied")


def test_a_staff_user_cannot_deactivate_anyone_not_even_themselves(staff_api, staff, customer):
    for target in (customer, staff):
        assert_single_error(staff_api.delete(user_url(target.id)), 403, "permission_denied")
        target.refresh_from_db()
        assert target.is_active


def test_the_staff_only_check_comes_before_the_lookup(customer_api, staff_api):
    """A customer cannot probe which ids exist: 403 whether or not the user does."""
    assert_single_error(customer_api.get(user_url(999999)), 403, "permission_denied")
    assert_single_error(staff_api.delete(user_url(999999)), 403, "permission_denied")


def test_a_demoted_staff_member_loses_staff_access_at_once(staff_api, staff):
    assert staff_api.get(USERS).status_code == 200
    User.objects.filter(id=staff.id).update(is_staff=False)

    assert_single_error(staff_api.get(USERS), 403, "permission_denied")


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", ME), ("patch", ME), ("post", LOGOUT), ("get", USERS), ("get", user_url(1)), ("delete", user_url(1))],
)
def test_anonymous_gets_401_not_405_or_404_on_protected_routes(anon, method, path):
    assert_single_error(getattr(anon, method)(path, {}), 401, "not_authenticated")
