"""Staff run the business here. Status changes and coupon writes go through
the same services as the API, so stock, the ledger and coupon uses stay right."""

from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from config.domain_errors import DomainError
from orders import services
from orders.domain.returns import ReturnDraft, ReturnDraftLine
from orders.domain.status import Status
from orders.errors import OrderRejected
from orders.models import Coupon, Order, OrderEvent, OrderLine, Return
from users.auth import signed_in_user


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    fields = ("product", "sku", "name", "quantity", "returned_quantity", "unit_price", "line_total")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("position",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReturnInline(admin.TabularInline):
    """The order's returns, read-only (recorded by the action or the API)."""

    model = Return
    fields = ("created_at", "refund_total", "reason", "created_by")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("created_at", "id")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _every_unit_still_out(order: Order) -> ReturnDraft:
    return ReturnDraft(
        tuple(
            ReturnDraftLine(line.product_id, line.quantity - line.returned_quantity)
            for line in order.lines.all()
            if line.quantity > line.returned_quantity
        )
    )


@admin.action(description="Record the return of every unit still out (restocked)", permissions=["change"])
def record_full_return(modeladmin: "OrderAdmin", request: HttpRequest, queryset: QuerySet[Order]) -> None:
    """Through services.order_return_record, as the API: the refund, the
    ledger, the timeline and the customer's email as a return made there."""
    actor = signed_in_user(request)
    _each_order(
        modeladmin, request, queryset.order_by("id").prefetch_related("lines"), "Returns recorded",
        lambda order: services.order_return_record(
            order_id=order.id, draft=_every_unit_still_out(order), reason="recorded in the admin", actor=actor
        ),
    )  # fmt: skip


class OrderEventInline(admin.TabularInline):
    """The order's timeline, read-only: every change, who made it, staff's notes."""

    model = OrderEvent
    verbose_name_plural = "Timeline"
    fields = ("created_at", "type", "from_status", "to_status", "actor", "note")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("created_at", "id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderEvent]:
        return super().get_queryset(request).select_related("actor")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrderNoteForm(forms.ModelForm):
    class Meta:
        model = OrderEvent
        fields = ("note",)
        widgets = {"note": forms.Textarea(attrs={"rows": 2})}

    def clean_note(self) -> str:
        note = (self.cleaned_data.get("note") or "").strip()
        if len(note) > services.NOTE_MAX_LENGTH:
            raise forms.ValidationError(f"At most {services.NOTE_MAX_LENGTH} characters.")
        return note


class OrderNoteInline(admin.StackedInline):
    """A form under the timeline to add a note; saved by services.order_note_add."""

    model = OrderEvent
    form = OrderNoteForm
    verbose_name, verbose_name_plural = "note", "Add a note"
    extra = 1
    max_num = 1
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderEvent]:
        return super().get_queryset(request).none()  # the timeline above shows the notes

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is not None and self.has_change_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("orders.change_order")


def _each_order(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    orders: Iterable[Order],
    label: str,
    change: Callable[[Order], Any],
) -> None:
    """Apply ``change`` (a service call) to each order, in id order; report how
    many changed, and why each refused one was refused."""
    done, refused = 0, []
    for order in orders:
        try:
            change(order)
            done += 1
        except DomainError as exc:
            refused.append(f"order {order.id}: {exc}")
    if done:
        modeladmin.message_user(request, f"{label}: {done} order(s).", messages.SUCCESS)
    for reason in refused:
        modeladmin.message_user(request, f"Not changed — {reason}", messages.WARNING)


def _transition_action(target: Status, label: str) -> Any:
    def action(modeladmin: "OrderAdmin", request: HttpRequest, queryset: QuerySet[Order]) -> None:
        actor = signed_in_user(request)
        _each_order(
            modeladmin, request, queryset.order_by("id"), label,
            lambda order: services.order_transition(order_id=order.id, target=target, actor=actor),
        )  # fmt: skip

    action.__name__ = f"mark_{target.value}"
    return admin.action(description=label, permissions=["change"])(action)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("id", "customer", "status", "total", "coupon_code", "created_at")
    list_filter = ("status", "created_at")
    list_select_related = ("customer",)
    search_fields = ("=id", "customer__email")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    inlines = [OrderLineInline, ReturnInline, OrderEventInline, OrderNoteInline]
    readonly_fields = (
        "customer", "status", "subtotal", "discount", "total", "refunded_total", "coupon", "coupon_code",
        "expires_at", "created_at", "updated_at",
    )  # fmt: skip
    fields = readonly_fields
    actions = [
        _transition_action(Status.CANCELLED, "Cancel (return stock and coupon use)"),
        _transition_action(Status.PAID, "Mark paid"),
        _transition_action(Status.SHIPPED, "Mark shipped"),
        _transition_action(Status.DELIVERED, "Mark delivered"),
        record_full_return,
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders are placed through the API, which takes the stock

    def save_model(self, request: HttpRequest, obj: Order, form: Any, change: bool) -> None:
        pass  # nothing of the order itself is edited here: status changes are the actions

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not OrderEvent:
            return super().save_formset(request, form, formset, change)
        # Only the note form takes input (the timeline is read-only): through
        # the service, never the formset's own save. What the admin's history
        # records of it is set as formset.save() would set it.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for note_form in formset.forms:
            note = note_form.cleaned_data.get("note") if note_form.has_changed() else None
            if note:
                event = services.order_note_add(order_id=form.instance.id, actor=signed_in_user(request), note=note)
                formset.new_objects.append(event)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # order history stays whole; cancel instead


class CouponAdminForm(forms.ModelForm):
    class Meta:
        model = Coupon
        fields = ("code", "percent_off", "amount_off", "valid_from", "valid_until", "max_uses", "is_active")

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        candidate = self.instance
        for name, value in cleaned.items():
            setattr(candidate, name, value)
        for problem in services.coupon_problems(candidate):
            self.add_error(problem.attr if problem.attr in self.fields else None, problem.detail)
        return cleaned


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    form = CouponAdminForm
    list_display = (
        "code",
        "percent_off",
        "amount_off",
        "times_used",
        "max_uses",
        "is_active",
        "valid_from",
        "valid_until",
    )
    list_filter = ("is_active",)
    search_fields = ("code",)
    readonly_fields = ("times_used", "created_at")
    ordering = ("-created_at", "-id")

    # --- Writes: coupon_create / coupon_update / coupon_delete --------------------
    # ModelAdmin's own save writes back every column of the row it loaded,
    # ``times_used`` included: a use an order added meanwhile would be lost.
    # coupon_update locks the row and writes only the fields that changed.

    def save_model(self, request: HttpRequest, obj: Coupon, form: forms.ModelForm, change: bool) -> None:
        if change:
            changed = {name: form.cleaned_data[name] for name in form.changed_data if name in services.COUPON_FIELDS}
            saved = services.coupon_update(coupon_id=obj.pk, **changed) if changed else None
        else:
            fields = {name: value for name, value in form.cleaned_data.items() if name in services.COUPON_FIELDS}
            saved = services.coupon_create(**fields)
        if saved is not None:
            # The admin goes on with ``obj`` (history, redirect): make it the saved row.
            for field in Coupon._meta.concrete_fields:
                setattr(obj, field.attname, getattr(saved, field.attname))
            obj._state.adding = False
            obj._state.db = saved._state.db

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except OrderRejected as exc:
            # Orders used the coupon between the form's check and the save (max_uses
            # now below times_used), or another coupon took the code: the admin's
            # transaction rolled back, nothing was saved. Show the form again, and why.
            for problem in exc.problems:
                self.message_user(request, f"Not saved — {problem.detail}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_model(self, request: HttpRequest, obj: Coupon) -> None:
        services.coupon_delete(coupon_id=obj.pk)

    @transaction.atomic
    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Coupon]) -> None:
        for coupon_id in queryset.order_by("id").values_list("id", flat=True):
            services.coupon_delete(coupon_id=coupon_id)
