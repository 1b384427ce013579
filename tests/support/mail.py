"""Email backends for tests: a mail server that is down, one that refuses a
recipient, and one that can be switched off and on."""

import smtplib
from collections.abc import Sequence
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend


class RefusingBackend(BaseEmailBackend):
    """Behaves like an SMTP server that is down."""

    attempts = 0

    def send_messages(self, email_messages: Sequence[Any]) -> int:
        RefusingBackend.attempts += 1
        raise smtplib.SMTPConnectError(421, "mail server unavailable")


class RecipientRefusingBackend(BaseEmailBackend):
    """An SMTP server that answers ``code`` to every recipient (``550``: no
    such mailbox, for good; ``452``: mailbox full, for now)."""

    code = 550

    def send_messages(self, email_messages: Sequence[Any]) -> int:
        to = email_messages[0].to[0]
        raise smtplib.SMTPRecipientsRefused({to: (self.code, b"5.1.1 mailbox unavailable")})


class SwitchableBackend(LocmemBackend):
    """Django's memory backend (``mail.outbox``) behind a mail server that a
    test turns off (connections refused) and on again."""

    down = False
    opened = 0  # connections opened, for the tests that count them

    def open(self) -> bool:
        if SwitchableBackend.down:
            raise ConnectionRefusedError(111, "Connection refused")
        SwitchableBackend.opened += 1
        return True

    def send_messages(self, messages: Sequence[Any]) -> int:
        if SwitchableBackend.down:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


def switch_mail_server(*, down: bool) -> None:
    SwitchableBackend.down = down
