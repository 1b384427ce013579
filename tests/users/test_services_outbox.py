"""The email outbox on the embedded default: rows, delivery, retries, the dispatcher."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from users.models import OutboxEmail
from users.outbox import Delivery, outbox_deliver, outbox_due, outbox_enqueue, outbox_retry_now

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register/"
NEW_USER = {"email": "nina@example.com", "username": "nina", "password": "a-long-passphrase-42"}


def test_registering_writes_one_outbox_row_and_sends_the_welcome_email(anon, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        r = anon.post(REGISTER, NEW_USER)
    assert r.status_code == 201
    email = OutboxEmail.objects.get()
    assert (email.kind, email.to, email.status, email.attempts) == ("welcome", "nina@example.com", "sent", 1)
    assert email.sent_at is not None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["nina@example.com"]
    assert mail.outbox[0].alternatives[0][1] == "text/html"


def test_a_failed_registration_leaves_no_email(anon, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        r = anon.post(REGISTER, {**NEW_USER, "password": "123"})
    assert r.status_code == 400
    assert not OutboxEmail.objects.exists()
    assert mail.outbox == []


def test_mail_server_down_keeps_the_row_pending_and_the_request_succeeds(
    anon, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.support.mail.RefusingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        r = anon.post(REGISTER, NEW_USER)
    assert r.status_code == 201
    email = OutboxEmail.objects.get()
    assert email.status == "pending"
    assert email.attempts == 1
    assert "SMTPConnectError" in email.last_error
    assert email.next_attempt_at > timezone.now()


def test_delivery_retries_up_to_the_ceiling_then_marks_the_row_failed(settings):
    settings.EMAIL_BACKEND = "tests.support.mail.RefusingBackend"
    settings.OUTBOX_MAX_ATTEMPTS = 3
    email = outbox_enqueue(kind="test", to="x@example.com", subject="s", text="t")
    results = [outbox_deliver(email_id=email.id) for _ in range(4)]
    assert results == [Delivery.RETRY, Delivery.RETRY, Delivery.FAILED, Delivery.SKIPPED]
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("failed", 3)


def test_a_redelivered_task_never_sends_twice():
    email = outbox_enqueue(kind="test", to="x@example.com", subject="once", text="t")
    assert outbox_deliver(email_id=email.id) is Delivery.SENT
    assert outbox_deliver(email_id=email.id) is Delivery.SKIPPED
    assert [m.subject for m in mail.outbox] == ["once"]


def test_mail_server_back_delivers_the_pending_row_exactly_once(settings):
    settings.EMAIL_BACKEND = "tests.support.mail.RefusingBackend"
    email = outbox_enqueue(kind="test", to="x@example.com", subject="later", text="t")
    assert outbox_deliver(email_id=email.id) is Delivery.RETRY
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert outbox_due() == []  # not due yet: backing off
    due = outbox_due(now=timezone.now() + timedelta(hours=1))
    assert due == [email.id]
    for email_id in due:
        outbox_deliver(email_id=email_id)
    outbox_deliver(email_id=email.id)
    assert [m.subject for m in mail.outbox] == ["later"]


def test_the_dispatcher_claims_due_rows_and_pushes_their_next_attempt_ahead():
    first = outbox_enqueue(kind="test", to="a@example.com", subject="a", text="t")
    later = timezone.now() + timedelta(minutes=5)
    assert outbox_due(now=later) == [first.id]
    # Claimed: not handed out again until the re-dispatch window passes.
    assert outbox_due(now=later) == []
    assert outbox_due(now=later + timedelta(minutes=5)) == [first.id]


def test_send_outbox_command_delivers_every_pending_row(capsys):
    for n in range(3):
        outbox_enqueue(kind="test", to=f"u{n}@example.com", subject=f"s{n}", text="t")
    call_command("send_outbox")
    assert "3 pending email(s): 3 sent" in capsys.readouterr().out
    assert OutboxEmail.objects.filter(status="sent").count() == 3
    assert len(mail.outbox) == 3


def test_retry_now_makes_a_failed_row_pending_and_due_again(settings):
    settings.EMAIL_BACKEND = "tests.support.mail.RefusingBackend"
    settings.OUTBOX_MAX_ATTEMPTS = 1
    email = outbox_enqueue(kind="test", to="x@example.com", subject="s", text="t")
    assert outbox_deliver(email_id=email.id) is Delivery.FAILED
    assert outbox_retry_now(email_ids=[email.id]) == 1
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("pending", 0)
    assert outbox_due() == [email.id]
