"""The email outbox and the webhooks in the admin: what was sent, what is
waiting, what failed and why, read-only; staff with the change permission
can retry an email or redeliver an event. Endpoints are managed here too."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from config.platform.background import enqueue_on_commit
from notifications import webhooks
from notifications.domain.webhooks import EVENT_TYPES
from notifications.models import OutboxEmail, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from notifications.services import outbox_message_id, outbox_render, outbox_retry_now
from notifications.tasks import outbox_deliver_task
from notifications.webhook_http import registration_problem


@admin.register(OutboxEmail)
class OutboxEmailAdmin(admin.ModelAdmin):
    """The email outbox: what was sent, what is waiting, what failed and why."""

    list_display = (
        "id", "kind", "to", "subject", "status", "failure", "attempts", "next_attempt_at", "created_at", "sent_at",
    )  # fmt: skip
    list_filter = ("status", "failure", "kind")
    search_fields = ("to", "subject")
    ordering = ("-created_at", "-id")
    readonly_fields = (
        "kind", "to", "subject", "status", "failure", "last_error", "attempts", "next_attempt_at", "leased_until",
        "created_at", "sent_at", "message_id", "text_body", "html_body",
    )  # fmt: skip
    actions = ("retry_now",)

    @admin.action(description="Retry now (failed or pending emails; sent ones are left alone)", permissions=["retry"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[OutboxEmail]) -> None:
        ids = list(queryset.values_list("id", flat=True))
        count = outbox_retry_now(email_ids=ids)
        for email_id in ids:
            enqueue_on_commit(outbox_deliver_task, email_id, 0)  # retried afresh: attempts start again
        self.message_user(request, f"{count} email(s) queued for delivery again.", messages.SUCCESS)

    @admin.display(description="Message-ID")
    def message_id(self, email: OutboxEmail) -> str:
        return outbox_message_id(email)  # the same on every attempt

    @admin.display(description="Body text")
    def text_body(self, email: OutboxEmail) -> str:
        outbox_render(email)  # an email still pending shows what it will send
        return email.body_text

    @admin.display(description="Body HTML")
    def html_body(self, email: OutboxEmail) -> str:
        outbox_render(email)  # rendered by text_body already: this renders nothing again
        return email.body_html

    def has_retry_permission(self, request: HttpRequest) -> bool:
        # The rows stay read-only in the admin; retrying is what "change" allows.
        return request.user.has_perm("notifications.change_outboxemail")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OutboxEmail | None = None) -> bool:
        return False


# --- Webhooks ------------------------------------------------------------------------


class WebhookEndpointForm(forms.ModelForm):
    """Staff's fields of an endpoint; the rest is the service's (notifications.webhooks)."""

    url = forms.CharField(max_length=2048, help_text="http or https; a private or loopback host is refused.")
    events = forms.MultipleChoiceField(choices=[(e, e) for e in EVENT_TYPES], widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "events", "description", "is_active")

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        unchanged = self.instance.pk is not None and url == self.instance.url
        problem = None if unchanged else registration_problem(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE_HOSTS)
        if problem is not None:
            raise forms.ValidationError(problem, code="url_not_allowed")
        return url


class WebhookDeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    fields = ("id", "event_type", "event", "status", "attempts", "last_status_code", "last_error", "created_at")
    readonly_fields = fields
    ordering = ("-created_at", "-id")
    show_change_link = True
    extra = 0
    max_num = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookDelivery]:
        # The newest few: the whole log is on the deliveries' own page.
        recent = super().get_queryset(request).order_by("-created_at", "-id").values_list("id", flat=True)[:20]
        return super().get_queryset(request).filter(id__in=list(recent))


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Endpoints: the secret is shown once, in the message after create or
    rotate, and as its last four characters after that."""

    form = WebhookEndpointForm
    list_display = ("id", "url", "is_active", "api_version", "secret_last_four", "failing_since", "created_at")
    list_filter = ("is_active",)
    search_fields = ("url", "description")
    ordering = ("-created_at", "-id")
    readonly_fields = (
        "api_version", "secret_last_four", "previous_secret_expires_at", "failing_since", "disabled_reason",
        "created_at", "updated_at",
    )  # fmt: skip
    inlines = [WebhookDeliveryInline]
    actions = ("rotate_secret", "send_ping")

    @admin.display(description="Secret")
    def secret_last_four(self, endpoint: WebhookEndpoint) -> str:
        return endpoint.secret_hint

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: forms.ModelForm, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in ("url", "events", "description", "is_active")}
        if change:
            webhooks.endpoint_update(endpoint_id=obj.pk, **{n: v for n, v in fields.items() if n in form.changed_data})
            obj.refresh_from_db()
            return
        created = webhooks.endpoint_create(**fields)
        obj.pk = created.pk
        obj.refresh_from_db()  # the admin goes on with ``obj`` (history, redirect): the saved row
        self._show_secret(request, created)

    def _show_secret(self, request: HttpRequest, endpoint: WebhookEndpoint) -> None:
        self.message_user(
            request,
            f"Signing secret of endpoint {endpoint.pk}: {endpoint.secret} — copy it now, it is not shown again.",
            messages.WARNING,
        )

    def delete_model(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        webhooks.endpoint_delete(endpoint_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint_id in queryset.values_list("id", flat=True):
            webhooks.endpoint_delete(endpoint_id=endpoint_id)

    @admin.action(description="Rotate the signing secret (the old one signs too for 24 hours)", permissions=["change"])
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint_id in queryset.values_list("id", flat=True):
            self._show_secret(request, webhooks.endpoint_rotate_secret(endpoint_id=endpoint_id))

    @admin.action(description="Send a ping event", permissions=["change"])
    def send_ping(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        ids = list(queryset.values_list("id", flat=True))
        for endpoint_id in ids:
            webhooks.endpoint_ping(endpoint_id=endpoint_id)
        self.message_user(request, f"Ping queued for {len(ids)} endpoint(s).", messages.SUCCESS)


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ("number", "created_at", "status_code", "error", "duration_ms", "response_excerpt")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: every attempt, read-only; staff can redeliver."""

    list_display = (
        "id", "event_type", "event", "endpoint", "status", "attempts", "last_status_code", "next_attempt_at",
        "created_at", "delivered_at",
    )  # fmt: skip
    list_filter = ("status", "event_type")
    search_fields = ("event__public_id", "endpoint__url")
    list_select_related = ("endpoint", "event")
    ordering = ("-created_at", "-id")
    readonly_fields = (
        "endpoint", "event", "event_type", "status", "attempts", "last_status_code", "last_error",
        "next_attempt_at", "leased_until", "created_at", "delivered_at", "body",
    )  # fmt: skip
    inlines = [WebhookAttemptInline]
    actions = ("redeliver",)

    @admin.display(description="Body (the same bytes on every attempt)")
    def body(self, delivery: WebhookDelivery) -> str:
        return delivery.event.body

    @admin.action(description="Redeliver (a new delivery of the same event)", permissions=["redeliver"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        ids = list(queryset.values_list("id", flat=True))
        for delivery_id in ids:
            webhooks.delivery_redeliver(delivery_id=delivery_id)
        self.message_user(request, f"{len(ids)} delivery(ies) queued again.", messages.SUCCESS)

    def has_redeliver_permission(self, request: HttpRequest) -> bool:
        # The log stays read-only in the admin; redelivering is what "change" allows.
        return request.user.has_perm("notifications.change_webhookdelivery")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: WebhookDelivery | None = None) -> bool:
        return False
