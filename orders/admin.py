"""Staff run the business here. Status changes and coupon writes go through
the same services as the API, so stock, the ledger and coupon uses stay right."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from config.domain_errors import DomainError
from orders import services
from orders.domain.status import Status
from orders.errors import OrderRejected
from orders.models import Coupon, Order, OrderLine
from users.auth import signed_in_user


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    fields = ("product", "sku", "name", "quantity", "unit_price", "line_total")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("position",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _transition_action(target: Status, label: str) -> Any:
    def action(modeladmin: "OrderAdmin", request: HttpRequest, queryset: QuerySet[Order]) -> None:
        done, refused = 0, []
        for order_id in queryset.order_by("id").values_list("id", flat=True):
            try:
                services.order_transition(order_id=order_id, target=target, actor=signed_in_user(request))
                done += 1
            except DomainError as exc:
                refused.append(f"order {order_id}: {exc}")
        if done:
            modeladmin.message_user(request, f"{label}: {done} order(s).", messages.SUCCESS)
        for reason in refused:
            modeladmin.message_user(request, f"Not changed — {reason}", messages.WARNING)

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
    inlines = [OrderLineInline]
    readonly_fields = (
        "customer", "status", "subtotal", "discount", "total", "coupon", "coupon_code", "created_at", "updated_at",
    )  # fmt: skip
    fields = readonly_fields
    actions = [
        _transition_action(Status.CANCELLED, "Cancel (return stock and coupon use)"),
        _transition_action(Status.PAID, "Mark paid"),
        _transition_action(Status.SHIPPED, "Mark shipped"),
        _transition_action(Status.DELIVERED, "Mark delivered"),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders are placed through the API, which takes the stock

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
