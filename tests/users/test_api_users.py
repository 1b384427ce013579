"""The signed-in user's profile (me), and staff's view of every account."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.factories import DEFAULT_PASSWORD, UserFactory, make_product
from tests.users.helpers import (
    LOGOUT,
    ME,
    REFRESH,
    REGISTER,
    STRONG_PASSWORD,
    TOKEN,
    USER_FIELDS,
    USERS,
    assert_single_error,
    assert_validation_error,
    refresh_for,
    sign_in,
    user_url,
)
from users.models import User

pytestmark = pytest.mark.django_db


def make_users(n: int, **extra: object) -> list[User]:
    """Many accounts, fast: no password hashing (they never sign in)."""
    start = User.objects.count()
    return User.objects.bulk_create(
        User(email=f"bulk{start + i}@example.com", username=f"bulk{start + i}", password="!", **extra) for i in range(n)
    )


# --- me -----------------------------------------------------------------------


def test_me_returns_the_signed_in_user(customer_api, customer):
    r = customer_api.get(ME)

    assert r.status_code == 200, r.content
    assert r.json() == {
        "id": customer.id,
        "email": customer.email,
        "username": customer.username,
        "full_name": customer.full_name,
        "is_staff": False,
        "date_joined": customer.date_joined.isoformat().replace("+00:00", "Z"),
    }


def test_me_says_is_staff_for_staff(staff_api):
    assert staff_api.get(ME).json()["is_staff"] is True


def test_me_patch_changes_username_and_full_name(customer_api, customer):
    r = customer_api.patch(ME, {"username": "new.name", "full_name": "New Name"})

    assert r.status_code == 200, r.content
    assert set(r.json()) == USER_FIELDS
    assert (r.json()["username"], r.json()["full_name"]) == ("new.name", "New Name")
    customer.refresh_from_db()
    assert (customer.username, customer.full_name) == ("new.name", "New Name")


def test_me_patch_changes_only_what_it_is_given(customer_api, customer):
    r = customer_api.patch(ME, {"full_name": "Only This"})

    assert r.status_code == 200, r.content
    customer.refresh_from_db()
    assert (customer.username, customer.full_name) == (r.json()["username"], "Only This")


def test_me_patch_with_an_empty_body_changes_nothing(customer_api, customer):
    r = customer_api.patch(ME, {})

    assert r.status_code == 200, r.content
    assert r.json()["username"] == customer.username


def test_me_patch_may_clear_the_full_name(customer_api, customer):
    assert customer_api.patch(ME, {"full_name": ""}).json()["full_name"] == ""


def test_me_patch_keeps_the_password_working(anon, customer_api, customer):
    customer_api.patch(ME, {"username": "renamed"})

    assert anon.post(TOKEN, {"email": customer.email, "password": DEFAULT_PASSWORD}).status_code == 200


@pytest.mark.parametrize("taken", ["taken", "TAKEN", "Taken"])
def test_me_patch_rejects_a_username_taken_case_insensitively(customer_api, customer, taken):
    UserFactory.create(username="Taken")

    r = customer_api.patch(ME, {"username": taken})

    assert_validation_error(r, "username", "unique")
    customer.refresh_from_db()
    assert customer.username != taken


def test_me_patch_may_change_the_case_of_ones_own_username(customer_api, customer):
    r = customer_api.patch(ME, {"username": customer.username.upper()})

    assert r.status_code == 200, r.content
    assert r.json()["username"] == customer.username.upper()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("username", ""),
        ("username", "has space"),
        ("username", "a" * 151),
        ("username", None),
        ("full_name", "x" * 151),
    ],
)
def test_me_patch_rejects_invalid_values_on_that_attr(customer_api, customer, field, value):
    r = customer_api.patch(ME, {field: value})

    assert_validation_error(r, field)
    customer.refresh_from_db()
    assert getattr(customer, field) != value


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("is_staff", True),
        ("is_superuser", True),
        ("is_active", False),
        ("email", "new@example.com"),
        ("password", STRONG_PASSWORD),
        ("id", 999),
        ("date_joined", "2000-01-01T00:00:00Z"),
    ],
)
def test_me_patch_rejects_fields_it_does_not_take_on_that_attr(customer_api, customer, field, value):
    before = User.objects.values().get(id=customer.id)

    r = customer_api.patch(ME, {field: value, "full_name": "Sneaky"})

    errors = assert_validation_error(r, field, "unknown_field")
    assert [e["attr"] for e in errors] == [field]
    assert User.objects.values().get(id=customer.id) == before


def test_me_patch_cannot_make_a_customer_staff(customer_api, customer):
    assert customer_api.patch(ME, {"is_staff": True}).status_code == 400

    customer.refresh_from_db()
    assert not customer.is_staff
    assert customer_api.get(USERS).status_code == 403


def test_me_patch_rejects_malformed_json_and_other_content_types(customer_api):
    assert_single_error(customer_api.patch(ME, data="{", content_type="application/json"), 400, "parse_error")
    r = customer_api.patch(ME, data="full_name=x", content_type="text/plain")
    assert_single_error(r, 415, "unsupported_media_type")


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_me_allows_only_get_and_patch(customer_api, method):
    assert_single_error(getattr(customer_api, method)(ME, {}), 405, "method_not_allowed")


# --- the staff list -------------------------------------------------------------


def test_staff_list_is_a_page_of_users_in_id_order(staff_api, staff, customer, other_customer):
    r = staff_api.get(USERS)

    assert r.status_code == 200, r.content
    body = r.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3
    assert body["next"] is None and body["previous"] is None
    assert [u["id"] for u in body["results"]] == sorted([staff.id, customer.id, other_customer.id])
    assert all(set(u) == USER_FIELDS for u in body["results"])


def test_staff_list_includes_deactivated_accounts(staff_api):
    gone = UserFactory.create(is_active=False)

    assert gone.id in [u["id"] for u in staff_api.get(USERS).json()["results"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ann@", {"ann"}),
        ("EXAMPLE.ORG", {"ann", "bob"}),
        ("bobby", {"bob"}),
        ("quuxley", {"ann", "cy"}),
        ("QUUXLEY", {"ann", "cy"}),
        ("nobody-like-this", set()),
    ],
)
def test_staff_list_search_matches_email_username_and_full_name(staff_api, query, expected):
    UserFactory.create(email="ann@example.org", username="ann", full_name="Ann Quuxley")
    UserFactory.create(email="bob@example.org", username="bobby", full_name="Bob Jones")
    UserFactory.create(email="cy@example.net", username="cy", full_name="Cy Quuxleyson")

    r = staff_api.get(USERS, {"search": query})

    assert r.status_code == 200, r.content
    assert {u["email"].split("@")[0] for u in r.json()["results"]} == expected
    assert r.json()["count"] == len(expected)


def test_staff_list_pages_by_20_by_default(staff_api):
    make_users(45)

    body = staff_api.get(USERS).json()

    assert body["count"] == 46
    assert len(body["results"]) == 20
    assert parse_qs(urlparse(body["next"]).query) == {"page": ["2"]}


def test_staff_list_page_size_is_followed_through_next_and_previous(staff_api, staff):
    make_users(11)  # 12 users with staff

    first = staff_api.get(USERS, {"page_size": 5}).json()
    second = staff_api.get(first["next"]).json()
    last = staff_api.get(second["next"]).json()

    assert [len(p["results"]) for p in (first, second, last)] == [5, 5, 2]
    assert parse_qs(urlparse(first["next"]).query) == {"page": ["2"], "page_size": ["5"]}
    assert first["previous"] is None
    assert second["previous"] is not None and last["next"] is None
    ids = [u["id"] for p in (first, second, last) for u in p["results"]]
    assert ids == sorted(User.objects.values_list("id", flat=True))


@pytest.mark.parametrize("size", [1, 100])
def test_staff_list_accepts_page_size_from_1_to_100(staff_api, size):
    make_users(110)

    body = staff_api.get(USERS, {"page_size": size}).json()

    assert len(body["results"]) == size
    assert body["count"] == 111


@pytest.mark.parametrize("size", ["0", "101", "-1", "abc", "", "1.5", "1e2"])
def test_staff_list_rejects_a_page_size_outside_1_to_100_on_page_size(staff_api, size):
    r = staff_api.get(USERS, {"page_size": size})

    errors = assert_validation_error(r, "page_size", "invalid")
    assert [e["attr"] for e in errors] == ["page_size"]


@pytest.mark.parametrize("page", ["2", "999"])
def test_staff_list_page_beyond_the_last_is_404(staff_api, page):
    assert_single_error(staff_api.get(USERS, {"page": page}), 404, "not_found")


@pytest.mark.parametrize("page", ["0", "-1", "abc"])
def test_staff_list_rejects_a_page_that_is_not_a_positive_integer_on_page(staff_api, page):
    assert_validation_error(staff_api.get(USERS, {"page": page}), "page", "invalid")


def test_staff_list_runs_the_same_queries_for_1_and_100_users_per_page(staff_api, django_assert_num_queries):
    make_users(120)
    with CaptureQueriesContext(connection) as one_per_page:
        assert staff_api.get(USERS, {"page_size": 1}).status_code == 200

    with django_assert_num_queries(len(one_per_page)):
        r = staff_api.get(USERS, {"page_size": 100})

    assert len(r.json()["results"]) == 100
    assert len(one_per_page) <= 3  # the signed-in user, the count, the page


@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_staff_list_allows_only_get(superuser_api, method):
    assert_single_error(getattr(superuser_api, method)(USERS, {}), 405, "method_not_allowed")


# --- staff detail -----------------------------------------------------------------


def test_staff_detail_returns_the_user(staff_api, customer):
    r = staff_api.get(user_url(customer.id))

    assert r.status_code == 200, r.content
    assert r.json()["id"] == customer.id
    assert r.json()["email"] == customer.email
    assert set(r.json()) == USER_FIELDS


def test_staff_detail_of_a_deactivated_account_still_works(staff_api):
    gone = UserFactory.create(is_active=False)

    assert staff_api.get(user_url(gone.id)).status_code == 200


@pytest.mark.parametrize("user_id", ["999999", "abc", "0", "-1"])
def test_staff_detail_of_an_unknown_user_is_404(staff_api, user_id):
    assert_single_error(staff_api.get(user_url(user_id)), 404, "not_found")


@pytest.mark.parametrize("method", ["put", "patch", "post"])
def test_staff_detail_cannot_be_edited(superuser_api, customer, method):
    r = getattr(superuser_api, method)(user_url(customer.id), {"is_staff": True})

    assert_single_error(r, 405, "method_not_allowed")
    customer.refresh_from_db()
    assert not customer.is_staff


# --- superuser delete = deactivate --------------------------------------------------


def test_superuser_delete_deactivates_the_account_and_keeps_it(superuser_api, customer):
    r = superuser_api.delete(user_url(customer.id))

    assert r.status_code == 204, r.content
    assert r.content == b""
    customer.refresh_from_db()
    assert customer.is_active is False
    assert superuser_api.get(user_url(customer.id)).status_code == 200


def test_a_deactivated_account_cannot_sign_in(anon, superuser_api, customer):
    superuser_api.delete(user_url(customer.id))

    r = anon.post(TOKEN, {"email": customer.email, "password": DEFAULT_PASSWORD})

    assert_single_error(r, 401, "no_active_account")


def test_a_deactivated_accounts_access_token_is_rejected(anon, superuser_api, customer):
    access = sign_in(anon, customer)["access"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert client.get(ME).status_code == 200

    superuser_api.delete(user_url(customer.id))

    assert_single_error(client.get(ME), 401, "user_inactive")
    assert_single_error(client.post(LOGOUT, {"refresh": "x"}), 401, "user_inactive")


def test_a_deactivated_accounts_refresh_tokens_are_all_revoked(anon, superuser_api, customer):
    signed_in = sign_in(anon, customer)["refresh"]
    rotated = anon.post(REFRESH, {"refresh": sign_in(anon, customer)["refresh"]}).json()["refresh"]
    minted = refresh_for(customer)

    superuser_api.delete(user_url(customer.id))

    for token in (signed_in, rotated, minted):
        assert_single_error(anon.post(REFRESH, {"refresh": token}), 401, "token_not_valid")


def test_superuser_delete_keeps_the_accounts_orders(superuser_api, staff_api, customer_api, customer):
    product = make_product(price="5.00", stock=3)
    placed = customer_api.post("/api/v1/orders/", {"lines": [{"product_id": product.id, "quantity": 2}]})
    assert placed.status_code == 201, placed.content

    assert superuser_api.delete(user_url(customer.id)).status_code == 204

    r = staff_api.get(f"/api/v1/orders/{placed.json()['id']}/")
    assert r.status_code == 200, r.content
    assert r.json()["customer"]["id"] == customer.id
    assert r.json()["total"] == "10.00"


def test_superuser_delete_twice_is_still_204(superuser_api, customer):
    assert superuser_api.delete(user_url(customer.id)).status_code == 204

    assert superuser_api.delete(user_url(customer.id)).status_code == 204


def test_superuser_delete_of_an_unknown_user_is_404(superuser_api):
    assert_single_error(superuser_api.delete(user_url(999999)), 404, "not_found")


def test_a_deactivated_accounts_email_and_username_stay_taken(anon, superuser_api, customer):
    superuser_api.delete(user_url(customer.id))

    r = anon.post(REGISTER, {"email": customer.email, "username": customer.username, "password": STRONG_PASSWORD})

    errors = assert_validation_error(r, "email", "unique")
    assert {e["attr"] for e in errors} == {"email", "username"}


# --- the whole users surface ----------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/api/v1/nothing/", "/api/v1/users/me/extra/", "/api/v2/users/", "/api/", "/api/v1/auth/", "/nowhere"],
)
def test_an_unknown_url_is_404_in_the_envelope(anon, staff_api, path):
    assert_single_error(anon.get(path), 404, "not_found")
    assert_single_error(staff_api.post(path, {}), 404, "not_found")


def test_no_users_endpoint_response_contains_a_password_or_its_hash(anon, superuser_api, client_for):
    seen = []

    def record(response, status):
        assert response.status_code == status, response.content
        seen.append((response.wsgi_request.method, response.wsgi_request.path, response.content.decode()))
        return response

    new = record(anon.post(REGISTER, {"email": "p@example.com", "username": "p", "password": STRONG_PASSWORD}), 201)
    pair = record(anon.post(TOKEN, {"email": "p@example.com", "password": STRONG_PASSWORD}), 200).json()
    me = APIClient()
    me.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    record(me.get(ME), 200)
    record(me.patch(ME, {"full_name": "P"}), 200)
    rotated = record(anon.post(REFRESH, {"refresh": pair["refresh"]}), 200).json()
    record(me.post(LOGOUT, {"refresh": rotated["refresh"]}), 204)
    record(superuser_api.get(USERS), 200)
    record(superuser_api.get(USERS, {"search": "p@"}), 200)
    record(superuser_api.get(user_url(new.json()["id"])), 200)
    # errors that are not about the password field
    record(anon.post(TOKEN, {"email": "p@example.com", "password": "wrong-wrong-wrong"}), 401)
    record(anon.post(REGISTER, {"email": "p@example.com", "username": "p", "password": STRONG_PASSWORD}), 400)
    record(anon.post(REFRESH, {"refresh": pair["refresh"]}), 401)
    record(anon.get(ME), 401)
    record(client_for(User.objects.get(email="p@example.com")).get(USERS), 403)
    record(superuser_api.delete(user_url(new.json()["id"])), 204)
    record(me.get(ME), 401)

    assert len(seen) == 16
    for method, path, body in seen:
        assert "password" not in body.lower(), (method, path, body)
        for hash_marker in ("argon2", "pbkdf2", "scrypt", "$"):
            assert hash_marker not in body, (method, path, body)
        assert STRONG_PASSWORD not in body
        assert "is_active" not in body and "is_superuser" not in body
