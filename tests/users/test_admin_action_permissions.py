"""Every admin action is gated by a permission: Django offers an action only
to those who hold every permission it declares, and refuses to run any other.
An action declaring none would be open to anyone who may view the list."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core import mail

from notifications.models import OutboxEmail
from tests.factories import UserFactory
from users import services
from users.models import User

pytestmark = pytest.mark.django_db
OUTBOX = "/admin/notifications/outboxemail/"


def test_every_action_of_every_model_admin_declares_the_permissions_it_needs():
    seen = []
    for model in apps.get_models():
        if not admin.site.is_registered(model):
            continue
        model_admin = admin.site.get_model_admin(model)
        # The ModelAdmin's own actions and the site's (Django's delete_selected),
        # before any permission filtering: what get_actions() starts from.
        for action in [*(model_admin.actions or ()), *(name for name, _ in admin.site.actions)]:
            func, name, _ = model_admin.get_action(action)
            seen.append(f"{model._meta.label}.{name}")
            assert getattr(func, "allowed_permissions", None), f"{model._meta.label}: action {name!r} needs none"
            for permission in func.allowed_permissions:
                assert callable(getattr(model_admin, f"has_{permission}_permission", None)), (model, name, permission)

    assert {"users.User.deactivate", "notifications.OutboxEmail.retry_now", "orders.Order.mark_cancelled"} <= set(seen)
    assert "orders.Coupon.delete_selected" in seen


def staff_with(*codenames: str) -> User:
    user = UserFactory.create(is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="notifications", codename__in=codenames)
    )
    return user


def actions_offered(client) -> list[str]:
    form = client.get(OUTBOX).context["action_form"]
    return [] if form is None else [name for name, _ in form.fields["action"].choices if name]


def waiting_email() -> OutboxEmail:
    """A welcome email in the outbox that nobody has sent (in a test, the
    commit that would send it never comes)."""
    user = services.user_register(email="waiting@example.com", username="waiting", password="a-long-passphrase-1")
    return OutboxEmail.objects.get(to=user.email)


def test_a_staff_member_who_may_only_view_emails_cannot_retry_them(client, django_capture_on_commit_callbacks):
    email = waiting_email()
    client.force_login(staff_with("view_outboxemail"))

    assert "retry_now" not in actions_offered(client)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        r = client.post(OUTBOX, {"action": "retry_now", "_selected_action": [email.id]}, follow=True)

    assert r.status_code == 200
    assert not queued and not mail.outbox
    assert OutboxEmail.objects.get(id=email.id).status == email.status


def test_a_staff_member_who_may_change_emails_retries_them(client, django_capture_on_commit_callbacks):
    email = waiting_email()
    client.force_login(staff_with("view_outboxemail", "change_outboxemail"))

    assert "retry_now" in actions_offered(client)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(OUTBOX, {"action": "retry_now", "_selected_action": [email.id]}, follow=True)

    assert r.status_code == 200
    assert [m.to for m in mail.outbox] == [[email.to]]
    detail = client.get(f"{OUTBOX}{email.id}/change/")
    assert detail.status_code == 200 and not detail.context["has_change_permission"]  # the rows stay read-only
