"""Email backends for tests: one whose server refuses everything."""

import smtplib
from collections.abc import Sequence
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend


class RefusingBackend(BaseEmailBackend):
    """Behaves like an SMTP server that is down."""

    attempts = 0

    def send_messages(self, email_messages: Sequence[Any]) -> int:
        RefusingBackend.attempts += 1
        raise smtplib.SMTPConnectError(421, "mail server unavailable")
