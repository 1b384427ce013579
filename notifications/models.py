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


# --- Webhooks ------------------------------------------------------------------


class WebhookEndpoint(models.Model):
    """A URL staff registered to receive signed events (notifications.webhooks).

    ``secret`` signs every delivery; it is shown once, when the endpoint is
    created or its secret rotated, and never again (the admin shows its last
    four characters). After a rotation, ``previous_secret`` signs too until
    ``previous_secret_expires_at``. ``api_version`` is fixed at creation: the
    shape of ``data`` this endpoint receives. ``failing_since``: when its
    deliveries started failing (none succeeded since); 72 hours later it is
    set inactive.
    """

    url = models.CharField(max_length=2048)
    events = models.JSONField(default=list)
    description = models.CharField(max_length=500, blank=True, default="")
    is_active = models.BooleanField(default=True)
    api_version = models.CharField(max_length=10)
    secret = models.CharField(max_length=64)
    previous_secret = models.CharField(max_length=64, blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = "webhook endpoint"
        indexes = [
            # What every change asks before it writes an event: the active endpoints (a few rows).
            models.Index(fields=["id"], name="webhook_endpoint_active_idx", condition=models.Q(is_active=True)),
        ]

    def __str__(self) -> str:
        return self.url

    @property
    def secret_hint(self) -> str:
        return f"…{self.secret[-4:]}"


class WebhookEvent(models.Model):
    """One event as its receivers get it: ``body`` is the exact JSON sent on
    every attempt and every redelivery, under ``public_id`` (``evt_…``).
    Written in the transaction of the change it reports."""

    public_id = models.CharField(max_length=40, unique=True)
    type = models.CharField(max_length=40)
    api_version = models.CharField(max_length=10)
    body = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = "webhook event"
        indexes = [models.Index(fields=["created_at"], name="webhook_event_created_idx")]

    def __str__(self) -> str:
        return f"{self.type} {self.public_id}"


class WebhookDelivery(models.Model):
    """An event owed to one endpoint: pending until a 2xx, then succeeded;
    failed once it has been retried for ``WEBHOOK_RETRY_HOURS`` (or its
    endpoint was set inactive). A redelivery is a new row for the same event.
    Claimed and leased like an outbox email (``leased_until``), so a worker
    that dies mid-attempt delays it by the lease and loses nothing."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    # No database constraint: a change that read its subscribers may commit a
    # delivery to an endpoint deleted meanwhile (the order must not fail for
    # it); the worker that claims such a delivery drops it.
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False, db_constraint=False
    )
    event = models.ForeignKey(
        WebhookEvent, to_field="public_id", on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    event_type = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["endpoint", "-created_at", "-id"], name="webhook_delivery_endpoint_idx"),
            models.Index(fields=["event"], name="webhook_delivery_event_idx"),
            # What the dispatcher and the oldest-pending gauge look for.
            models.Index(
                fields=["next_attempt_at"], name="webhook_delivery_due_idx", condition=models.Q(status="pending")
            ),
            # The oldest pending one (the gauge in /metrics).
            models.Index(
                fields=["created_at"], name="webhook_delivery_pending_idx", condition=models.Q(status="pending")
            ),
            models.Index(fields=["created_at"], name="webhook_delivery_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} to endpoint {self.endpoint_id}"


class WebhookAttempt(models.Model):
    """One try of a delivery, for the log: what the receiver answered, or why
    nothing was answered, and how long it took."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    duration_ms = models.PositiveIntegerField()
    response_excerpt = models.CharField(max_length=1024, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("number",)
        verbose_name = "webhook attempt"

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"
