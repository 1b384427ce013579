"""The outbox moved from users to notifications without copying a row:
migrating a database that holds emails and grants on the old model keeps
every row, its id, and every grant (the content type moves with it)."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from notifications.models import OutboxEmail
from tests.factories import UserFactory

BEFORE = [("users", "0005_outbox_lease_and_failure"), ("notifications", None)]


def migrate(targets: list[tuple[str, str | None]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)  # a fresh loader sees what is applied now


def tables() -> set[str]:
    return set(connection.introspection.table_names())


@pytest.mark.django_db(transaction=True)
def test_moving_the_outbox_keeps_every_row_and_every_grant():
    staff = UserFactory.create(is_staff=True)
    group = Group.objects.create(name="support")
    old = migrate(BEFORE)
    assert "users_outboxemail" in tables() and "notifications_outboxemail" not in tables()

    apps = old.loader.project_state(BEFORE[0]).apps
    OldEmail = apps.get_model("users", "OutboxEmail")
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    sent = OldEmail.objects.create(kind="welcome", to="a@example.com", subject="Welcome", body_text="hi",
                                   status="sent", attempts=1, sent_at=timezone.now())  # fmt: skip
    waiting = OldEmail.objects.create(kind="order_confirmation", to="b@example.com", subject="Order 7",
                                      template="orders/confirmation", context={"order": {"id": "7"}},
                                      attempts=3, failure="unreachable", last_error="refused")  # fmt: skip
    content_type, _ = ContentType.objects.get_or_create(app_label="users", model="outboxemail")
    for codename in ("view_outboxemail", "change_outboxemail"):
        Permission.objects.get_or_create(content_type=content_type, codename=codename, defaults={"name": codename})
    change = Permission.objects.get(content_type=content_type, codename="change_outboxemail")
    view = Permission.objects.get(content_type=content_type, codename="view_outboxemail")
    apps.get_model("users", "User").objects.get(id=staff.id).user_permissions.add(change.id)
    apps.get_model("auth", "Group").objects.get(id=group.id).permissions.add(view.id)

    new = MigrationExecutor(connection)
    new.migrate(new.loader.graph.leaf_nodes())

    assert "notifications_outboxemail" in tables() and "users_outboxemail" not in tables()
    rows = {e.id: e for e in OutboxEmail.objects.all()}
    assert set(rows) == {sent.id, waiting.id}
    assert (rows[sent.id].status, rows[sent.id].body_text) == ("sent", "hi")
    assert (rows[waiting.id].attempts, rows[waiting.id].failure, rows[waiting.id].context) == (
        3, "unreachable", {"order": {"id": "7"}},
    )  # fmt: skip
    staff = type(staff).objects.get(id=staff.id)  # no cached permissions
    assert staff.has_perm("notifications.change_outboxemail")
    assert not staff.has_perm("users.change_outboxemail")
    assert set(group.permissions.values_list("content_type__app_label", "codename")) == {
        ("notifications", "view_outboxemail")
    }
    # New rows take ids after the old ones: the table's sequence came along.
    assert OutboxEmail.objects.create(kind="k", to="c@example.com", subject="s", body_text="t").id > waiting.id
