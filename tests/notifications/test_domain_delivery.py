"""What a failed delivery means: only a permanent refusal of the recipient
stops the retries; the mail server being unreachable is told apart from an
email put off for now. Pure: no database."""

import smtplib
import socket
import ssl

import pytest

from notifications.domain.delivery import FailureKind, classify_failure

UNREACHABLE = [
    ConnectionRefusedError(111, "Connection refused"),
    TimeoutError("timed out"),
    socket.gaierror(-2, "Name or service not known"),
    ConnectionResetError(104, "Connection reset by peer"),
    ssl.SSLError("handshake failed"),
    smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
    smtplib.SMTPConnectError(421, "mail server unavailable"),
    smtplib.SMTPHeloError(501, "bad greeting"),
    smtplib.SMTPAuthenticationError(535, "5.7.8 Authentication credentials invalid"),
    smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server."),
    smtplib.SMTPDataError(421, "4.3.2 service shutting down"),  # 421 at any step: the service is going away
]
DEFERRED = [
    smtplib.SMTPRecipientsRefused({"a@example.com": (452, b"4.2.2 mailbox full")}),
    smtplib.SMTPRecipientsRefused({"a@example.com": (450, b"4.7.1 greylisted, try again later")}),
    smtplib.SMTPSenderRefused(451, b"4.3.0 try again", "noreply@stockroom.local"),
    smtplib.SMTPSenderRefused(553, b"5.7.1 sender not allowed", "noreply@stockroom.local"),
    smtplib.SMTPDataError(451, "4.3.0 local error"),
    smtplib.SMTPDataError(554, "5.7.1 message rejected"),
    smtplib.SMTPRecipientsRefused({}),
    ValueError("a template that fails to render"),
]


@pytest.mark.parametrize("exc", UNREACHABLE, ids=lambda e: type(e).__name__)
def test_a_mail_server_not_reached_or_not_usable_is_unreachable(exc):
    failure = classify_failure(exc)
    assert failure.kind is FailureKind.UNREACHABLE
    assert not failure.permanent


@pytest.mark.parametrize("exc", DEFERRED, ids=lambda e: f"{type(e).__name__}-{getattr(e, 'smtp_code', '')}")
def test_an_answer_that_puts_the_email_off_is_deferred_never_permanent(exc):
    failure = classify_failure(exc)
    assert failure.kind is FailureKind.DEFERRED
    assert not failure.permanent


def test_only_a_5xx_refusal_of_the_recipient_is_permanent():
    exc = smtplib.SMTPRecipientsRefused({"gone@example.com": (550, b"5.1.1 no such user")})
    failure = classify_failure(exc)
    assert failure.kind is FailureKind.REFUSED and failure.permanent
    assert failure.reason == "recipient refused: gone@example.com: 550 5.1.1 no such user"


def test_a_reason_is_bounded_and_names_the_exception():
    failure = classify_failure(smtplib.SMTPDataError(451, "x" * 10_000))
    assert failure.reason.startswith("SMTPDataError: (451")
    assert len(failure.reason) == 2000
