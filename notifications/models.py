from django.db import models
from django.utils import timezone

from notifications.domain.delivery import FailureKind


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
    # The kind of the last failure (notifications.domain.delivery): an email that
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
            # What a drain looks for (notifications.services.outbox_deliver_next): the
            # few emails never tried, among every email ever sent.
            models.Index(fields=["id"], name="outbox_fresh_idx", condition=models.Q(status="pending", attempts=0)),
            # What the purge of old sent emails looks for (notifications.services.outbox_purge_sent).
            models.Index(fields=["sent_at"], name="outbox_sent_idx", condition=models.Q(status="sent")),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to}"
