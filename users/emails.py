"""Account emails, rendered from templates into the outbox."""

from django.template.loader import render_to_string

from notifications.models import OutboxEmail
from notifications.services import outbox_enqueue
from users.models import User


def welcome_email_enqueue(*, user: User) -> OutboxEmail:
    """Queue the welcome email. The caller holds the transaction that creates the user."""
    context = {"user": user}
    return outbox_enqueue(
        kind="welcome",
        to=user.email,
        subject="Welcome to Stockroom",
        text=render_to_string("users/welcome.txt", context),
        html=render_to_string("users/welcome.html", context),
    )
