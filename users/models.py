from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from users.domain.delivery import FailureKind


def normalize_email(email: str) -> str:
    """Emails are compared and stored lower-cased: ``Ann@X.com`` is ``ann@x.com``."""
    return email.strip().lower()


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> "User":
        # The login is the email, matched case-insensitively.
        return self.get(email=normalize_email(username or ""))

    def create_user(self, email: str, username: str, password: str | None = None, **extra: Any) -> "User":
        if not email:
            raise ValueError("An email is required.")
        if not username:
            raise ValueError("A username is required.")
        user = self.model(email=normalize_email(email), username=username, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, username: str, password: str | None = None, **extra: Any) -> "User":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, username, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(max_length=254, unique=True)
    username = models.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    full_name = models.CharField(max_length=150, blank=True, default="")
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["username"]

    class Meta:
        ordering = ("id",)
        constraints = [
            # Emails are stored lower-cased, so the plain UNIQUE is case-insensitive.
            models.CheckConstraint(condition=Q(email=Lower("email")), name="users_user_email_lowercase"),
            models.UniqueConstraint(Lower("username"), name="users_user_username_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)


class OutboxEmail(models.Model):
    """An email to send, written in the same transaction as what caused it.

    A row is the promise that the email goes out: Celery delivers it after
    commit, and the dispatcher (Celery beat) re-publishes rows still pending,
    so a broker or mail server that is down only delays it, however long.
    Only a permanent refusal of the recipient marks it failed.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    class Failure(models.TextChoices):
        NONE = "", "—"
        UNREACHABLE = FailureKind.UNREACHABLE.value, "Mail server unreachable"
        DEFERRED = FailureKind.DEFERRED.value, "Deferred by the mail server"
        REFUSED = FailureKind.REFUSED.value, "Recipient refused"

    kind = models.CharField(max_length=32)
    to = models.EmailField(max_length=254)
    subject = models.CharField(max_length=255)
    # The bodies — or, when ``template`` is set, what they are rendered from
    # when the email is delivered (``<template>.txt`` and ``.html`` with
    # ``context``, plain JSON values), so the request that queues the email
    # does not pay for rendering it; delivery stores the bodies it sent.
    body_text = models.TextField(blank=True, default="")
    body_html = models.TextField(blank=True, default="")
    template = models.CharField(max_length=100, blank=True, default="")
    context = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    # The kind of the last failure (users.domain.delivery): an email that
    # waits because the mail server was unreachable is woken when it answers.
    failure = models.CharField(max_length=16, choices=Failure.choices, blank=True, default="")
    # When the dispatcher may next publish it: set a little ahead on every
    # publish, so a task lost with its broker is published again, and to the
    # end of the lease while a worker sends it.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # Set while a worker sends it (claimed, committed, then sent outside any
    # transaction): another worker takes it only once this has passed, so a
    # worker that dies mid-send delays it by the lease and loses nothing.
    leased_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = "outbox email"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx"),
            # What a drain looks for (users.outbox.outbox_deliver_next): the
            # few emails never tried, among every email ever sent.
            models.Index(fields=["id"], name="outbox_fresh_idx", condition=models.Q(status="pending", attempts=0)),
            # What the purge of old sent emails looks for (users.outbox.outbox_purge_sent).
            models.Index(fields=["sent_at"], name="outbox_sent_idx", condition=models.Q(status="sent")),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to}"
