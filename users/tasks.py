"""Background email for accounts."""

from celery import shared_task
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from config.background import enqueue_on_commit
from users.models import User


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=8)
def welcome_email_send(user_id: int) -> None:
    user = User.objects.filter(id=user_id).first()
    if user is None:
        return
    context = {"user": user}
    message = EmailMultiAlternatives(
        subject="Welcome to Stockroom",
        body=render_to_string("users/welcome.txt", context),
        to=[user.email],
    )
    message.attach_alternative(render_to_string("users/welcome.html", context), "text/html")
    message.send()


def welcome_email_queue(*, user_id: int) -> None:
    """Send the welcome email once the caller's transaction commits."""
    enqueue_on_commit(welcome_email_send, user_id)
