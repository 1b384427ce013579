"""The Django admin for accounts: staff manage users; hashes never show."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.factories import UserFactory
from tests.users.helpers import REFRESH, STRONG_PASSWORD, refresh_for
from users.models import User

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/users/user/"
ADD = "/admin/users/user/add/"


def change_url(user: User) -> str:
    return f"/admin/users/user/{user.pk}/change/"


def password_url(user: User) -> str:
    return f"/admin/users/user/{user.pk}/password/"


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def test_the_user_changelist_loads_and_searches_email_username_and_full_name(admin_client):
    UserFactory.create(email="ann@example.org", username="ann", full_name="Ann Smith")
    UserFactory.create(email="bob@example.org", username="bob", full_name="Bob Jones")

    for query in ("ann@example", "ANN", "smith"):
        r = admin_client.get(CHANGELIST, {"q": query})
        assert r.status_code == 200
        html = r.content.decode()
        assert "ann@example.org" in html and "bob@example.org" not in html


def test_the_user_changelist_shows_the_listed_columns_and_filters(admin_client):
    UserFactory.create(email="ann@example.org", full_name="Ann Smith")

    r = admin_client.get(CHANGELIST)

    assert r.status_code == 200
    changelist = r.context["cl"]
    assert tuple(changelist.list_display[1:]) == (
        "email",
        "username",
        "full_name",
        "is_staff",
        "is_active",
        "date_joined",
    )
    assert [spec.title for spec in changelist.filter_specs] == ["is staff", "is active", "superuser status"]
    assert "Ann Smith" in r.content.decode()


@pytest.mark.parametrize("query", ["is_staff__exact=1", "is_active__exact=0", "is_superuser__exact=1"])
def test_the_user_changelist_filters(admin_client, query):
    inactive = UserFactory.create(is_active=False)

    r = admin_client.get(f"{CHANGELIST}?{query}")

    assert r.status_code == 200
    shown = {u.pk for u in r.context["cl"].result_list}
    assert (inactive.pk in shown) is (query == "is_active__exact=0")


def test_the_change_page_loads_without_the_password_hash(admin_client, customer):
    r = admin_client.get(change_url(customer))

    assert r.status_code == 200
    html = r.content.decode()
    assert customer.email in html
    assert "argon2" not in html and customer.password not in html
    assert password_url(customer) in html  # a link to set a new password instead


def test_the_set_password_page_loads_without_the_hash_and_sets_a_password(admin_client, customer):
    r = admin_client.get(password_url(customer))
    assert r.status_code == 200
    assert "argon2" not in r.content.decode()

    r = admin_client.post(
        password_url(customer),
        {"usable_password": "true", "password1": STRONG_PASSWORD, "password2": STRONG_PASSWORD},
    )

    assert r.status_code == 302, r.content
    customer.refresh_from_db()
    assert customer.check_password(STRONG_PASSWORD)


def test_no_admin_page_for_users_shows_a_hash(admin_client, customer):
    for url in (CHANGELIST, f"{CHANGELIST}?q={customer.email}", change_url(customer), password_url(customer), ADD):
        html = admin_client.get(url).content.decode()
        assert "argon2" not in html, url
        assert "pbkdf2" not in html, url


def test_the_add_page_asks_for_email_username_and_the_password_twice(admin_client):
    r = admin_client.get(ADD)

    assert r.status_code == 200
    assert set(r.context["adminform"].form.fields) >= {"email", "username", "full_name", "password1", "password2"}
    assert "password" not in r.context["adminform"].form.fields


def test_adding_a_user_works_and_the_user_can_sign_in(admin_client):
    r = admin_client.post(
        ADD,
        {
            "email": "New.Person@Example.com",
            "username": "newperson",
            "full_name": "New Person",
            "usable_password": "true",
            "password1": STRONG_PASSWORD,
            "password2": STRONG_PASSWORD,
        },
    )

    assert r.status_code == 302, r.context["adminform"].form.errors if r.context else r.content
    user = User.objects.get(username="newperson")
    assert user.email == "new.person@example.com"
    assert user.full_name == "New Person"
    assert user.check_password(STRONG_PASSWORD)
    assert not user.is_staff and not user.is_superuser and user.is_active
    token = APIClient().post("/api/v1/auth/token/", {"email": "new.person@example.com", "password": STRONG_PASSWORD})
    assert token.status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [("email", "TAKEN@example.com"), ("username", "TAKEN")],
)
def test_adding_a_user_refuses_a_taken_email_or_username_whatever_its_case(admin_client, field, value):
    UserFactory.create(email="taken@example.com", username="taken")
    data = {
        "email": "fresh@example.com",
        "username": "fresh",
        "usable_password": "true",
        "password1": STRONG_PASSWORD,
        "password2": STRONG_PASSWORD,
        field: value,
    }

    r = admin_client.post(ADD, data)

    assert r.status_code == 200
    assert field in r.context["adminform"].form.errors
    assert User.objects.count() == 2  # the superuser and the taken one


def test_adding_a_user_refuses_mismatched_or_weak_passwords(admin_client):
    base = {"email": "fresh@example.com", "username": "fresh", "usable_password": "true"}

    mismatched = admin_client.post(ADD, {**base, "password1": STRONG_PASSWORD, "password2": STRONG_PASSWORD + "x"})
    weak = admin_client.post(ADD, {**base, "password1": "password", "password2": "password"})

    assert "password2" in mismatched.context["adminform"].form.errors
    assert "password2" in weak.context["adminform"].form.errors
    assert not User.objects.filter(username="fresh").exists()


def test_changing_a_user_keeps_their_password(admin_client, customer):
    old_hash = customer.password

    r = admin_client.post(
        change_url(customer),
        {
            "email": "Changed@Example.com",
            "username": customer.username,
            "full_name": "Changed Name",
            "is_active": "on",
            "is_staff": "on",
        },
    )

    assert r.status_code == 302, r.context["adminform"].form.errors if r.context else r.content
    customer.refresh_from_db()
    assert (customer.email, customer.full_name, customer.is_staff) == ("changed@example.com", "Changed Name", True)
    assert customer.password == old_hash


def test_changing_a_user_to_someone_elses_email_is_refused(admin_client, customer, other_customer):
    r = admin_client.post(
        change_url(customer), {"email": other_customer.email.upper(), "username": customer.username, "is_active": "on"}
    )

    assert r.status_code == 200
    assert "email" in r.context["adminform"].form.errors


def test_the_deactivate_action_deactivates_and_revokes_refresh_tokens(admin_client, customer, other_customer):
    token = refresh_for(customer)

    r = admin_client.post(CHANGELIST, {"action": "deactivate", "_selected_action": [customer.pk]})

    assert r.status_code == 302
    customer.refresh_from_db()
    other_customer.refresh_from_db()
    assert not customer.is_active and other_customer.is_active
    assert APIClient().post(REFRESH, {"refresh": token}).status_code == 401


def test_users_are_deactivated_never_deleted_in_the_admin(admin_client, customer):
    changelist = admin_client.get(CHANGELIST)
    actions = [name for name, _ in changelist.context["action_form"].fields["action"].choices]
    assert "deactivate" in actions and "delete_selected" not in actions
    assert f"/admin/users/user/{customer.pk}/delete/" not in admin_client.get(change_url(customer)).content.decode()

    assert admin_client.get(f"/admin/users/user/{customer.pk}/delete/").status_code == 403
    assert User.objects.filter(pk=customer.pk).exists()


@pytest.mark.parametrize("make_user", [lambda: UserFactory.create(), lambda: None], ids=["customer", "anonymous"])
def test_a_non_staff_visitor_is_sent_to_the_admin_login(client, make_user):
    user = make_user()
    if user is not None:
        client.force_login(user)

    for url in (CHANGELIST, ADD, "/admin/"):
        r = client.get(url)
        assert r.status_code == 302
        assert r["Location"].startswith("/admin/login/")


def test_a_staff_member_without_user_permissions_is_refused_with_a_page(client, staff):
    client.force_login(staff)

    r = client.get(CHANGELIST)

    assert r.status_code == 403
    assert r["Content-Type"].startswith("text/html")


def test_the_changelist_runs_the_same_number_of_queries_for_5_and_60_users(admin_client, django_assert_num_queries):
    UserFactory.create_batch(4, password="x")  # with the superuser: 5 users
    with CaptureQueriesContext(connection) as five:
        assert admin_client.get(CHANGELIST).status_code == 200

    User.objects.bulk_create(User(email=f"u{i}@example.com", username=f"u{i}", password="!") for i in range(55))
    with django_assert_num_queries(len(five)):
        r = admin_client.get(CHANGELIST)

    assert r.context["cl"].result_count == 60


# --- who may do what: deactivation and privileges are a superuser's -----------------------


def staff_with(*codenames: str) -> User:
    """A staff member holding exactly these permissions of the users app."""
    from django.contrib.auth.models import Permission

    user = UserFactory.create(is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="users", codename__in=codenames))
    return user


def action_names(response) -> list[str]:
    form = response.context["action_form"]
    return [] if form is None else [name for name, _ in form.fields["action"].choices if name]


@pytest.mark.parametrize("codenames", [("view_user",), ("view_user", "change_user")], ids=["view", "view+change"])
def test_a_staff_member_who_is_not_superuser_neither_sees_nor_can_run_deactivate(client, superuser, codenames):
    client.force_login(staff_with(*codenames))
    token = refresh_for(superuser)

    listed = client.get(CHANGELIST)
    assert listed.status_code == 200
    assert "deactivate" not in action_names(listed)
    r = client.post(CHANGELIST, {"action": "deactivate", "_selected_action": [superuser.pk]}, follow=True)

    assert r.status_code == 200  # the list again: with no action of theirs, nothing to run
    superuser.refresh_from_db()
    assert superuser.is_active
    assert APIClient().post(REFRESH, {"refresh": token}).status_code == 200


def test_unticking_active_on_the_change_form_revokes_the_users_refresh_tokens(admin_client, customer):
    token = refresh_for(customer)

    r = admin_client.post(
        change_url(customer), {"email": customer.email, "username": customer.username, "full_name": "Kept"}
    )  # no "is_active": unticked

    assert r.status_code == 302, r.context["adminform"].form.errors if r.context else r.content
    customer.refresh_from_db()
    assert not customer.is_active and customer.full_name == "Kept"
    # Revoked, not only refused while inactive: active again, the old token still fails.
    admin_client.post(change_url(customer), {"email": customer.email, "username": customer.username, "is_active": "on"})
    customer.refresh_from_db()
    assert customer.is_active
    assert APIClient().post(REFRESH, {"refresh": token}).status_code == 401


def test_saving_the_change_form_of_an_active_user_revokes_nothing(admin_client, customer):
    token = refresh_for(customer)

    r = admin_client.post(
        change_url(customer), {"email": customer.email, "username": customer.username, "is_active": "on"}
    )

    assert r.status_code == 302
    assert APIClient().post(REFRESH, {"refresh": token}).status_code == 200


def test_a_staff_member_with_change_user_cannot_change_active_staff_superuser_groups_or_permissions(client, customer):
    from django.contrib.auth.models import Group, Permission

    client.force_login(staff_with("view_user", "change_user"))
    group = Group.objects.create(name="managers")
    anything = Permission.objects.get(codename="change_user")

    form = client.get(change_url(customer)).context["adminform"].form
    r = client.post(
        change_url(customer),
        {
            "email": customer.email,
            "username": customer.username,
            "full_name": "Renamed",
            # all of these are posted, and all ignored
            "is_staff": "on",
            "is_superuser": "on",
            "groups": [group.pk],
            "user_permissions": [anything.pk],
        },  # no "is_active": unticked, ignored too
    )

    assert set(form.fields).isdisjoint({"is_active", "is_staff", "is_superuser", "groups", "user_permissions"})
    assert r.status_code == 302, r.context["adminform"].form.errors if r.context else r.content
    customer.refresh_from_db()
    assert customer.full_name == "Renamed"  # what they may change, changed
    assert (customer.is_active, customer.is_staff, customer.is_superuser) == (True, False, False)
    assert not customer.groups.exists() and not customer.user_permissions.exists()


def test_a_staff_member_with_change_user_cannot_make_themselves_superuser(client):
    me = staff_with("view_user", "change_user")
    client.force_login(me)

    page = client.get(change_url(me))
    r = client.post(
        change_url(me),
        {"email": me.email, "username": me.username, "is_active": "on", "is_staff": "on", "is_superuser": "on"},
    )

    assert page.status_code == 200 and "adminform" in page.context  # they see their account, read-only
    assert not page.context["has_change_permission"]
    assert r.status_code == 403
    me.refresh_from_db()
    assert not me.is_superuser


def test_a_staff_member_with_change_user_cannot_set_a_staff_accounts_password(client, superuser):
    client.force_login(staff_with("view_user", "change_user"))
    old_hash = superuser.password

    page = client.get(password_url(superuser))
    r = client.post(
        password_url(superuser),
        {"usable_password": "true", "password1": STRONG_PASSWORD, "password2": STRONG_PASSWORD},
    )

    assert (page.status_code, r.status_code) == (403, 403)
    superuser.refresh_from_db()
    assert superuser.password == old_hash


def test_a_superuser_still_changes_privileges(admin_client, customer):
    r = admin_client.post(
        change_url(customer),
        {"email": customer.email, "username": customer.username, "is_active": "on", "is_staff": "on"},
    )

    assert r.status_code == 302
    customer.refresh_from_db()
    assert customer.is_staff
