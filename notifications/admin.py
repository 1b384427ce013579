"""The email outbox in the admin: what was sent, what is waiting, what
failed and why, read-only; staff with the change permission can retry."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from config.platform.background import enqueue_on_commit
from notifications.models import OutboxEmail
from notifications.services import outbox_message_id, outbox_render, outbox_retry_now
from notifications.tasks import outbox_deliver_task


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
