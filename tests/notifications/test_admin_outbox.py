"""The email outbox in the admin: staff see status, attempts and errors, and can retry."""

import pytest
from django.core import mail

from notifications.models import OutboxEmail
from notifications.services import Delivery, outbox_deliver, outbox_enqueue, outbox_message_id
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/notifications/outboxemail/"


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    return client


def test_the_outbox_list_shows_a_failed_email_with_its_reason(admin_client, settings):
    settings.EMAIL_BACKEND = "tests.support.mail.RecipientRefusingBackend"
    email = outbox_enqueue(kind="welcome", to="lost@example.com", subject="Welcome", text="t")
    assert outbox_deliver(email_id=email.id) is Delivery.FAILED
    page = admin_client.get(CHANGELIST + "?status=failed")
    assert page.status_code == 200
    assert b"lost@example.com" in page.content
    assert b"Recipient refused" in page.content
    detail = admin_client.get(f"{CHANGELIST}{email.id}/change/")
    assert b"lost@example.com: 550" in detail.content
    assert b"mailbox unavailable" in detail.content
    assert outbox_message_id(email).replace("<", "&lt;").replace(">", "&gt;").encode() in detail.content


def test_an_email_waiting_for_the_mail_server_shows_why_and_when_it_is_tried_again(admin_client, settings):
    settings.EMAIL_BACKEND = "tests.support.mail.RefusingBackend"
    email = outbox_enqueue(kind="welcome", to="later@example.com", subject="Welcome", text="t")
    assert outbox_deliver(email_id=email.id) is Delivery.RETRY
    page = admin_client.get(CHANGELIST + "?failure=unreachable")
    assert b"later@example.com" in page.content and b"Mail server unreachable" in page.content
    detail = admin_client.get(f"{CHANGELIST}{email.id}/change/")
    assert b"SMTPConnectError" in detail.content


def test_retry_now_delivers_a_failed_email(admin_client, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "tests.support.mail.RecipientRefusingBackend"
    email = outbox_enqueue(kind="welcome", to="back@example.com", subject="Welcome back", text="t")
    outbox_deliver(email_id=email.id)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        r = admin_client.post(CHANGELIST, {"action": "retry_now", "_selected_action": [email.id]}, follow=True)
    assert r.status_code == 200
    email.refresh_from_db()
    assert email.status == "sent"
    assert [m.subject for m in mail.outbox] == ["Welcome back"]


def test_a_customer_cannot_see_the_outbox(client):
    client.force_login(UserFactory.create())
    r = client.get(CHANGELIST)
    assert r.status_code == 302 and "/admin/login/" in r["Location"]


def test_the_outbox_change_list_runs_the_same_queries_for_5_and_60_emails(admin_client, django_assert_num_queries):
    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(CHANGELIST).status_code == 200
        return len(ctx.captured_queries)

    for n in range(5):
        outbox_enqueue(kind="t", to=f"a{n}@example.com", subject="s", text="t")
    few = count()
    for n in range(55):
        outbox_enqueue(kind="t", to=f"b{n}@example.com", subject="s", text="t")
    assert OutboxEmail.objects.count() == 60
    assert count() == few


def test_an_order_email_pending_in_the_outbox_shows_the_bodies_it_will_send(admin_client, customer):
    from orders import services
    from orders.domain.placement import DraftLine, OrderDraft
    from tests.factories import make_product

    product = make_product(sku="ANV-9", name="Anvil", price="19.99", stock=3)
    order = services.order_place(customer=customer, draft=OrderDraft((DraftLine(product.id, 2),))).order
    email = OutboxEmail.objects.get(kind="order_confirmation")
    assert (email.status, email.body_text, email.template) == ("pending", "", "orders/confirmation")

    page = admin_client.get(f"{CHANGELIST}{email.id}/change/")
    assert page.status_code == 200
    assert f"order {order.id}".encode() in page.content
    assert b"ANV-9" in page.content and b"39.98" in page.content
