"""The email outbox on the embedded default: rows, delivery, retries, the dispatcher."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from notifications.models import OutboxEmail
from notifications.services import (
    Delivery,
    outbox_deliver,
    outbox_drain,
    outbox_due,
    outbox_enqueue,
    outbox_message_id,
    outbox_retry_now,
    outbox_revive,
)
from notifications.tasks import outbox_purge_sent_task, outbox_revive_task

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
    assert (email.failure, email.leased_until) == ("unreachable", None)
    assert "SMTPConnectError" in email.last_error
    assert email.next_attempt_at > timezone.now()


def test_a_mail_server_that_stays_down_never_makes_an_email_fail(settings):
    """The old outbox gave up after 8 attempts (about ten minutes): an outage
    of an hour lost the email. Now a transient failure never gives up."""
    settings.EMAIL_BACKEND = "tests.support.mail.RefusingBackend"
    email = outbox_enqueue(kind="test", to="x@example.com", subject="s", text="t")
    results = {outbox_deliver(email_id=email.id) for _ in range(20) if _make_due(email)}
    assert results == {Delivery.RETRY}
    email.refresh_from_db()
    assert (email.status, email.attempts, email.failure) == ("pending", 20, "unreachable")


def _make_due(email: OutboxEmail) -> bool:
    OutboxEmail.objects.filter(id=email.id).update(next_attempt_at=timezone.now())
    return True


def test_a_permanent_refusal_of_the_recipient_fails_the_email_with_the_reason(settings):
    settings.EMAIL_BACKEND = "tests.support.mail.RecipientRefusingBackend"
    email = outbox_enqueue(kind="test", to="nobody@example.com", subject="s", text="t")
    assert outbox_deliver(email_id=email.id) is Delivery.FAILED
    email.refresh_from_db()
    assert (email.status, email.attempts, email.failure, email.leased_until) == ("failed", 1, "refused", None)
    assert "nobody@example.com: 550" in email.last_error and "mailbox unavailable" in email.last_error
    assert outbox_deliver(email_id=email.id) is Delivery.SKIPPED  # no retry of a refused recipient
    assert outbox_due(now=timezone.now() + timedelta(days=365)) == []


def test_a_recipient_put_off_for_now_is_retried_on_its_own_schedule(settings):
    from tests.support.mail import RecipientRefusingBackend

    settings.EMAIL_BACKEND = "tests.support.mail.RecipientRefusingBackend"
    settings.OUTBOX_RETRY_BASE_SECONDS = 60
    RecipientRefusingBackend.code = 452  # mailbox full: a 4xx
    try:
        email = outbox_enqueue(kind="test", to="full@example.com", subject="s", text="t")
        assert outbox_deliver(email_id=email.id) is Delivery.RETRY
    finally:
        RecipientRefusingBackend.code = 550
    email.refresh_from_db()
    assert (email.status, email.failure) == ("pending", "deferred")
    assert email.next_attempt_at >= timezone.now() + timedelta(seconds=59)
    # The mail server answers: that wakes emails that waited for it, not this one.
    assert outbox_revive() == 0
    assert outbox_due() == []


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
    assert due == [(email.id, 1)]
    for email_id, attempts in due:
        outbox_deliver(email_id=email_id, attempts=attempts)
    outbox_deliver(email_id=email.id)
    assert [m.subject for m in mail.outbox] == ["later"]


def test_a_stale_ask_for_an_email_tried_since_waits_for_its_retry_time(settings):
    """A task published before an attempt that then failed (the dispatcher's,
    or the broker's redelivery) must not retry it at once, past its backoff."""
    settings.EMAIL_BACKEND = "tests.support.mail.RefusingBackend"
    email = outbox_enqueue(kind="test", to="x@example.com", subject="s", text="t")
    assert outbox_deliver(email_id=email.id, attempts=0) is Delivery.RETRY
    assert outbox_deliver(email_id=email.id, attempts=0) is Delivery.SKIPPED
    email.refresh_from_db()
    assert email.attempts == 1 and email.next_attempt_at > timezone.now()
    assert outbox_deliver(email_id=email.id, attempts=1) is Delivery.RETRY  # asked for when due


def test_the_dispatcher_claims_due_rows_and_pushes_their_next_attempt_ahead():
    first = outbox_enqueue(kind="test", to="a@example.com", subject="a", text="t")
    later = timezone.now() + timedelta(minutes=5)
    assert outbox_due(now=later) == [(first.id, 0)]
    # Claimed: not handed out again until the re-dispatch window passes.
    assert outbox_due(now=later) == []
    assert outbox_due(now=later + timedelta(minutes=5)) == [(first.id, 0)]


def test_send_outbox_command_delivers_every_pending_row(capsys):
    for n in range(3):
        outbox_enqueue(kind="test", to=f"u{n}@example.com", subject=f"s{n}", text="t")
    call_command("send_outbox")
    assert "3 pending email(s): 3 sent" in capsys.readouterr().out
    assert OutboxEmail.objects.filter(status="sent").count() == 3
    assert len(mail.outbox) == 3


def test_retry_now_makes_a_failed_row_pending_and_due_again(settings):
    settings.EMAIL_BACKEND = "tests.support.mail.RecipientRefusingBackend"
    email = outbox_enqueue(kind="test", to="x@example.com", subject="s", text="t")
    assert outbox_deliver(email_id=email.id) is Delivery.FAILED
    assert outbox_retry_now(email_ids=[email.id]) == 1
    email.refresh_from_db()
    assert (email.status, email.attempts, email.failure) == ("pending", 0, "")
    assert outbox_due() == [(email.id, 0)]


def test_retry_now_leaves_an_email_a_worker_is_sending_to_it():
    email = outbox_enqueue(kind="test", to="x@example.com", subject="s", text="t")
    OutboxEmail.objects.filter(id=email.id).update(attempts=1, leased_until=timezone.now() + timedelta(minutes=2))
    assert outbox_retry_now(email_ids=[email.id]) == 0


# --- Leases: the mail server is never talked to under a lock --------------------------


def test_an_email_leased_by_a_worker_is_left_alone_until_the_lease_ends(settings):
    email = outbox_enqueue(kind="test", to="x@example.com", subject="leased", text="t")
    OutboxEmail.objects.filter(id=email.id).update(attempts=1, leased_until=timezone.now() + timedelta(minutes=2))
    assert outbox_deliver(email_id=email.id) is Delivery.SKIPPED
    assert outbox_drain() == 0
    assert mail.outbox == []

    OutboxEmail.objects.filter(id=email.id).update(leased_until=timezone.now() - timedelta(seconds=1))
    assert outbox_deliver(email_id=email.id) is Delivery.SENT  # the worker that held it died
    email.refresh_from_db()
    assert (email.status, email.attempts, email.leased_until) == ("sent", 2, None)


def test_a_claimed_email_is_not_due_for_the_dispatcher_before_its_lease_ends(settings) -> None:
    settings.OUTBOX_LEASE_SECONDS = 120
    email = outbox_enqueue(kind="test", to="x@example.com", subject="s", text="t")
    seen: list[OutboxEmail] = []

    class Recording(locmem.EmailBackend):
        def send_messages(self, messages):
            seen.append(OutboxEmail.objects.get(id=email.id))
            assert outbox_due(now=timezone.now() + timedelta(seconds=60)) == []  # leased: not due
            return super().send_messages(messages)

    settings.EMAIL_BACKEND = f"{__name__}.Recording"
    globals()["Recording"] = Recording
    assert outbox_deliver(email_id=email.id) is Delivery.SENT
    (during,) = seen
    assert during.leased_until is not None and during.attempts == 1
    assert during.next_attempt_at == during.leased_until


def test_every_attempt_of_an_email_carries_the_same_message_id(settings):
    from tests.support.mail import switch_mail_server

    settings.EMAIL_BACKEND = "tests.support.mail.SwitchableBackend"
    email = outbox_enqueue(kind="test", to="x@example.com", subject="once", text="t")
    switch_mail_server(down=True)
    try:
        assert outbox_deliver(email_id=email.id) is Delivery.RETRY
    finally:
        switch_mail_server(down=False)
    _make_due(email)
    assert outbox_deliver(email_id=email.id) is Delivery.SENT
    # A worker crashed after the server took it and before the outbox knew:
    # sent again after the lease, under the same Message-ID.
    OutboxEmail.objects.filter(id=email.id).update(status="pending", leased_until=timezone.now())
    assert outbox_deliver(email_id=email.id) is Delivery.SENT
    ids = [m.message()["Message-ID"] for m in mail.outbox]
    assert ids == [outbox_message_id(email)] * 2
    assert ids[0].startswith("<") and ids[0].endswith("@stockroom.local>")
    other = outbox_enqueue(kind="test", to="y@example.com", subject="another", text="t")
    assert outbox_message_id(other) != ids[0]


@pytest.mark.django_db(transaction=True)
def test_the_mail_server_is_talked_to_outside_any_transaction(settings) -> None:
    """Claimed and committed first: while the server has the message, no
    transaction is open and another connection sees the lease."""
    seen: list[tuple[bool, object]] = []

    class Watching(locmem.EmailBackend):
        def send_messages(self, messages):
            email_id = OutboxEmail.objects.get().id
            seen.append((connection.in_atomic_block, _leased_elsewhere(email_id)))
            return super().send_messages(messages)

    globals()["Watching"] = Watching
    settings.EMAIL_BACKEND = f"{__name__}.Watching"
    email = outbox_enqueue(kind="test", to="x@example.com", subject="s", text="t")  # delivered after its commit
    assert OutboxEmail.objects.get(id=email.id).status == "sent"
    ((in_transaction, leased),) = seen
    assert in_transaction is False
    assert leased is not None


def _leased_elsewhere(email_id: int) -> object:
    """The lease as another database connection sees it (committed data only)."""
    import threading

    out: list[object] = []

    def read() -> None:
        try:
            out.append(OutboxEmail.objects.get(id=email_id).leased_until)
        finally:
            connection.close()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join(10)
    return out[0]


def test_a_drain_sends_a_burst_over_one_connection(settings):
    from tests.support.mail import SwitchableBackend

    settings.EMAIL_BACKEND = "tests.support.mail.SwitchableBackend"
    for n in range(5):
        outbox_enqueue(kind="test", to=f"u{n}@example.com", subject=f"s{n}", text="t")
    before = SwitchableBackend.opened
    assert outbox_drain() == 5
    assert SwitchableBackend.opened - before == 1
    assert len(mail.outbox) == 5


# --- An outage of any length: the emails wait with backoff and are woken when it ends -----


@pytest.fixture
def mail_server(settings):
    """A mail server the test switches off and on; emails back off for an hour
    at least, so only a wake-up sends them again within the test."""
    from tests.support.mail import switch_mail_server

    settings.EMAIL_BACKEND = "tests.support.mail.SwitchableBackend"
    settings.OUTBOX_RETRY_BASE_SECONDS = 3600
    settings.OUTBOX_RETRY_CAP_SECONDS = 7200
    yield switch_mail_server
    switch_mail_server(down=False)


def _fail_while_down(n: int) -> list[OutboxEmail]:
    emails = [outbox_enqueue(kind="test", to=f"w{i}@example.com", subject=f"waiting {i}", text="t") for i in range(n)]
    for email in emails:
        assert outbox_deliver(email_id=email.id) is Delivery.RETRY
    return emails


def test_the_check_of_the_mail_server_wakes_every_waiting_email_when_it_answers(mail_server):
    mail_server(down=True)
    emails = _fail_while_down(3)
    assert outbox_revive() == 0  # still down: nothing woken, and nothing due for an hour
    assert outbox_due() == []

    mail_server(down=False)
    assert outbox_revive() == 3
    assert sorted(outbox_due()) == sorted((e.id, 1) for e in emails)
    for email in emails:
        assert outbox_deliver(email_id=email.id) is Delivery.SENT
    assert outbox_revive() == 0  # nothing waits any more: the server is not even asked


def test_an_email_the_dispatcher_just_published_is_not_woken_again(mail_server, settings):
    settings.OUTBOX_REDISPATCH_SECONDS = 30
    mail_server(down=True)
    (email,) = _fail_while_down(1)
    mail_server(down=False)
    assert outbox_revive() == 1
    assert outbox_due() == [(email.id, 1)]  # published: its next attempt pushed 30 s ahead
    assert outbox_revive() == 0  # on its way already: not woken, so not published twice
    assert outbox_due() == []


def test_the_check_asks_nothing_of_the_mail_server_while_no_email_waits(mail_server):
    from tests.support.mail import SwitchableBackend

    outbox_enqueue(kind="test", to="x@example.com", subject="fresh", text="t")  # never tried: not waiting
    before = SwitchableBackend.opened
    assert outbox_revive() == 0
    assert SwitchableBackend.opened == before


def test_the_first_email_sent_after_the_outage_wakes_the_ones_that_waited(mail_server):
    mail_server(down=True)
    waiting = _fail_while_down(2)
    mail_server(down=False)
    fresh = outbox_enqueue(kind="test", to="new@example.com", subject="fresh", text="t")
    assert outbox_deliver(email_id=fresh.id) is Delivery.SENT
    assert sorted(outbox_due()) == sorted((e.id, 1) for e in waiting)


def test_the_revive_task_publishes_the_woken_emails_at_once(mail_server):
    mail_server(down=True)
    _fail_while_down(2)
    mail_server(down=False)
    assert outbox_revive_task() == 2  # eager tasks: published and delivered now
    assert sorted(m.subject for m in mail.outbox) == ["waiting 0", "waiting 1"]
    assert set(OutboxEmail.objects.values_list("status", flat=True)) == {"sent"}


# --- Old sent emails are purged --------------------------------------------------------


def test_sent_emails_older_than_30_days_are_purged_by_the_command_and_the_task(capsys):
    now = timezone.now()

    def email(status: str, sent_days_ago: int | None) -> OutboxEmail:
        row = outbox_enqueue(kind="test", to="x@example.com", subject=f"{status} {sent_days_ago}", text="t")
        sent_at = None if sent_days_ago is None else now - timedelta(days=sent_days_ago)
        OutboxEmail.objects.filter(id=row.id).update(status=status, sent_at=sent_at)
        return row

    old, recent, failed, pending = email("sent", 31), email("sent", 29), email("failed", None), email("pending", None)
    call_command("purge_outbox")
    assert "deleted 1 email(s) sent more than 30 day(s) ago" in capsys.readouterr().out
    assert set(OutboxEmail.objects.values_list("id", flat=True)) == {recent.id, failed.id, pending.id}
    assert old.id not in set(OutboxEmail.objects.values_list("id", flat=True))

    email("sent", 40)
    assert outbox_purge_sent_task() == 1
    call_command("purge_outbox", "--days", "1")
    assert set(OutboxEmail.objects.values_list("id", flat=True)) == {failed.id, pending.id}


def test_purge_outbox_refuses_a_retention_below_one_day(capsys):
    with pytest.raises(SystemExit) as exit_:
        call_command("purge_outbox", "--days", "0")
    assert exit_.value.code == 2
    assert "--days must be at least 1" in capsys.readouterr().err
