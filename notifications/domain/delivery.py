"""What a failed email delivery means for the email: pure.

Three kinds, because each is answered differently:

- ``UNREACHABLE``: the mail server was not reached or not usable at all (the
  connection refused, timed out or dropped, ``421`` "service not
  available", a greeting, TLS or sign-in failure). Nothing is wrong with
  the email; it waits with backoff, and is woken as soon as the server
  answers again (notifications.services.outbox_revive).
- ``DEFERRED``: the server answered and put this message off for now (a
  ``4xx`` to the recipient, the sender or the data — greylisting, a full
  mailbox), or refused the sender or the data, which an operator can mend.
  It waits with backoff, on its own schedule.
- ``REFUSED``: the server permanently refused the recipient (a ``5xx`` to
  ``RCPT TO`` for that address). The only failure that stops the retries:
  the email is marked failed, with the reason, for staff to see.

No failure but ``REFUSED`` ever gives up: a mail server down for five hours
loses nothing.
"""

import smtplib
from dataclasses import dataclass
from enum import StrEnum


class FailureKind(StrEnum):
    UNREACHABLE = "unreachable"
    DEFERRED = "deferred"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Failure:
    kind: FailureKind
    reason: str  # for staff: the exception and the server's answer, never a body

    @property
    def permanent(self) -> bool:
        return self.kind is FailureKind.REFUSED


# Raised before any message is handed over: the server, not this email.
_SERVER_ERRORS = (
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    smtplib.SMTPHeloError,
    smtplib.SMTPAuthenticationError,
    smtplib.SMTPNotSupportedError,
)
SERVICE_NOT_AVAILABLE = 421
REASON_LIMIT = 2000


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:REASON_LIMIT]


def _text(answer: bytes | str) -> str:
    return answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)


def classify_failure(exc: BaseException) -> Failure:
    """The kind of a delivery failure, from what the mail connection raised."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        answers = "; ".join(f"{to}: {code} {_text(text)}" for to, (code, text) in exc.recipients.items())
        refused = bool(codes) and all(500 <= code < 600 for code in codes)
        kind = FailureKind.REFUSED if refused else FailureKind.DEFERRED
        return Failure(kind, f"recipient refused: {answers}"[:REASON_LIMIT])
    if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == SERVICE_NOT_AVAILABLE:
        return Failure(FailureKind.UNREACHABLE, _reason(exc))
    if isinstance(exc, _SERVER_ERRORS):
        return Failure(FailureKind.UNREACHABLE, _reason(exc))
    if isinstance(exc, smtplib.SMTPException):  # the sender or the data refused, or put off
        return Failure(FailureKind.DEFERRED, _reason(exc))
    if isinstance(exc, OSError):  # refused, timed out, reset, no route, the name does not resolve
        return Failure(FailureKind.UNREACHABLE, _reason(exc))
    return Failure(FailureKind.DEFERRED, _reason(exc))
