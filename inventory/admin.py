"""Staff keep the catalog here. Every stock change and every product write goes
through the same services as the API, so the ledger always sums to stock."""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from inventory import selectors, services
from inventory.domain.bounds import MAX_PRICE
from inventory.domain.ledger import MAX_STOCK
from inventory.errors import InsufficientStock, StockLimitExceeded
from inventory.models import Product, StockMovement
from inventory.serializers import MAX_STOCK_DELTA, SKU_REGEX

LEDGER_ROWS = 50  # the change page shows the latest rows; the movement list has them all
UPDATABLE = ("sku", "name", "description", "price", "low_stock_threshold", "is_active")


class InStockFilter(admin.SimpleListFilter):
    title = "in stock"
    parameter_name = "in_stock"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Product]) -> QuerySet[Product]:
        if self.value() == "yes":
            return queryset.filter(stock__gt=0)
        if self.value() == "no":
            return queryset.filter(stock=0)
        return queryset


class LatestMovementsFormSet(BaseInlineFormSet):
    """The latest ``LEDGER_ROWS`` movements, newest first: a product's ledger
    grows without bound, its change page must not."""

    def get_queryset(self) -> Any:
        if not hasattr(self, "latest"):
            self.latest = super().get_queryset().order_by("-created_at", "-id")[:LEDGER_ROWS]
        return self.latest


class StockMovementInline(admin.TabularInline):
    model = StockMovement
    formset = LatestMovementsFormSet
    fields = ("created_at", "delta", "balance_after", "reason", "order_id", "created_by")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name_plural = f"Stock ledger (latest {LEDGER_ROWS} movements)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[StockMovement]:
        return super().get_queryset(request).select_related("created_by")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ProductAdminForm(forms.ModelForm):
    sku = forms.RegexField(SKU_REGEX, max_length=64, help_text="Letters, digits, '.', '_' and '-'; unique in any case.")
    # The bound is checked in clean_price, not with max_value: a browser would
    # refuse to submit the form of a product priced above it from before the
    # bound, even for a change of its name.
    price = forms.DecimalField(min_value=0, max_digits=12, decimal_places=2, help_text=f"At most {MAX_PRICE}.")
    # Only on the add form: later changes go through "Adjust stock".
    stock = forms.IntegerField(
        label="Initial stock",
        min_value=0,
        max_value=MAX_STOCK_DELTA,
        initial=0,
        help_text="Recorded as the first line of the stock ledger.",
    )

    low_stock_threshold = forms.IntegerField(
        min_value=0,
        max_value=MAX_STOCK,
        initial=0,
        required=False,
        help_text="Stock falling from at or above this to below it sends the product.stock_low webhook; 0: never.",
    )

    class Meta:
        model = Product
        fields = ("sku", "name", "description", "price", "stock", "low_stock_threshold", "is_active")

    def clean_low_stock_threshold(self) -> int:
        return self.cleaned_data.get("low_stock_threshold") or 0

    def clean_sku(self) -> str:
        sku: str = self.cleaned_data["sku"]
        if Product.objects.filter(sku__iexact=sku).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("A product with this sku already exists.", code="unique")
        return sku

    def clean_price(self) -> Decimal:
        price: Decimal = self.cleaned_data["price"]
        # A price above the bound that the product already had (from before the
        # bound) may stay as it is, so staff can still edit its other fields; it
        # is never changed silently, and the system check inventory.W001 reports it.
        unchanged = self.instance.pk is not None and price == self.instance.price
        if price > MAX_PRICE and not unchanged:
            raise forms.ValidationError(
                "Ensure this value is less than or equal to %(limit_value)s.",
                code="max_value",
                params={"limit_value": MAX_PRICE},
            )
        return price


class StockAdjustmentForm(forms.Form):
    delta = forms.IntegerField(
        min_value=-MAX_STOCK_DELTA,
        max_value=MAX_STOCK_DELTA,
        help_text="Units to add (a delivery) or, negative, to remove (damage, a stock-take).",
    )
    reason = forms.CharField(max_length=200)

    def clean_delta(self) -> int:
        delta: int = self.cleaned_data["delta"]
        if delta == 0:
            raise forms.ValidationError("Must be a non-zero integer.", code="zero")
        return delta


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductAdminForm
    list_display = ("sku", "name", "price", "stock", "low_stock_threshold", "is_active", "updated_at")
    list_filter = ("is_active", InStockFilter)
    search_fields = ("sku", "name")
    ordering = ("-created_at", "-id")
    inlines = [StockMovementInline]

    # --- Form -------------------------------------------------------------------

    def get_fields(self, request: HttpRequest, obj: Product | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("sku", "name", "description", "price", "stock", "low_stock_threshold", "is_active")
        return (
            "sku", "name", "description", "price", "is_active", "low_stock_threshold", "stock", "ledger",
            "created_at", "updated_at",
        )  # fmt: skip

    def get_readonly_fields(self, request: HttpRequest, obj: Product | None = None) -> tuple[str, ...]:
        return () if obj is None else ("stock", "ledger", "created_at", "updated_at")

    def get_inlines(self, request: HttpRequest, obj: Product | None) -> list[Any]:
        return [] if obj is None else list(self.inlines)

    @admin.display(description="Ledger")
    def ledger(self, obj: Product) -> str:
        adjust = reverse("admin:inventory_product_adjust_stock", args=[obj.pk], current_app=self.admin_site.name)
        movements = reverse("admin:inventory_stockmovement_changelist", current_app=self.admin_site.name)
        return format_html(
            '<a href="{}">Adjust stock</a> · <a href="{}?product__id__exact={}">All movements</a>',
            adjust,
            movements,
            obj.pk,
        )

    def save_model(self, request: HttpRequest, obj: Product, form: forms.ModelForm, change: bool) -> None:
        if change:
            changed = {name: form.cleaned_data[name] for name in form.changed_data if name in UPDATABLE}
            if changed:
                services.product_update(product=obj, **changed)
            return
        created = services.product_create(
            sku=form.cleaned_data["sku"],
            name=form.cleaned_data["name"],
            description=form.cleaned_data.get("description") or "",
            price=form.cleaned_data["price"],
            stock=form.cleaned_data.get("stock") or 0,
            low_stock_threshold=form.cleaned_data.get("low_stock_threshold") or 0,
            is_active=form.cleaned_data.get("is_active", True),
            created_by_id=request.user.pk,
        )
        # The admin goes on with ``obj`` (history, redirect): make it the saved row.
        for field in Product._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created, field.attname))
        obj._state.adding = False
        obj._state.db = created._state.db

    # --- Delete: product_delete semantics ------------------------------------------

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        product = self.get_object(request, unquote(object_id))
        ordered = product is not None and selectors.product_ever_ordered(product_id=product.pk)
        return super().delete_view(request, object_id, {**(extra_context or {}), "deactivates_instead": ordered})

    def delete_model(self, request: HttpRequest, obj: Product) -> None:
        services.product_delete(product=obj)

    @transaction.atomic
    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        kept = [
            product
            for product in queryset.order_by("id")
            if services.product_delete(product=product) is services.Deletion.DEACTIVATED
        ]
        if kept:
            self.message_user(
                request,
                f"{len(kept)} product(s) that orders reference were deactivated instead of deleted: "
                + ", ".join(p.sku for p in kept),
                messages.WARNING,
            )

    def response_delete(self, request: HttpRequest, obj_display: str, obj_id: Any) -> HttpResponse:
        if Product.objects.filter(pk=obj_id).exists():
            self.message_user(
                request, f"“{obj_display}” is referenced by orders, so it was deactivated instead.", messages.WARNING
            )
            return HttpResponseRedirect(reverse("admin:inventory_product_changelist", current_app=self.admin_site.name))
        return super().response_delete(request, obj_display, obj_id)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[Any, ...]:
        """The confirmation page tells the truth: an ordered product is kept
        (deactivated), and the ledger of a deleted one goes with it even though
        no one may delete movements one by one."""
        objs = list(objs)
        ordered = set(
            StockMovement.objects.filter(product__in=objs, order_id__isnull=False).values_list("product_id", flat=True)
        )
        deletable = [p for p in objs if p.pk not in ordered]
        to_delete, model_count, perms_needed, protected = super().get_deleted_objects(deletable, request)
        perms_needed.discard(StockMovement._meta.verbose_name)
        to_delete = [
            *to_delete,
            *(f"{p} — referenced by orders: deactivated, not deleted" for p in objs if p.pk in ordered),
        ]
        return to_delete, model_count, perms_needed, protected

    # --- Adjust stock ------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/adjust-stock/",
                self.admin_site.admin_view(self.adjust_stock_view),
                name="{}_{}_adjust_stock".format(*info),
            ),
            *super().get_urls(),
        ]

    def adjust_stock_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        product = self.get_object(request, unquote(object_id))
        if product is None:
            # Django's own "doesn't exist" redirect: a private ModelAdmin method django-stubs leaves out.
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)  # type: ignore[attr-defined]
        if not self.has_change_permission(request, product):
            raise PermissionDenied
        form = StockAdjustmentForm(request.POST) if request.method == "POST" else StockAdjustmentForm()
        if form.is_bound and form.is_valid():
            delta, reason = form.cleaned_data["delta"], form.cleaned_data["reason"]
            try:
                services.stock_adjust(product=product, delta=delta, reason=reason, created_by_id=request.user.pk)
            except (InsufficientStock, StockLimitExceeded) as exc:
                for problem in exc.problems:
                    form.add_error("delta", problem.detail)
            else:
                self.log_change(request, product, f"Adjusted stock by {delta:+d} ({reason}); now {product.stock}.")
                self.message_user(
                    request,
                    f"Stock of “{product}” adjusted by {delta:+d}; it is now {product.stock}.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:inventory_product_change", args=[product.pk], current_app=self.admin_site.name)
                )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Adjust stock: {product}",
            "subtitle": None,
            "opts": self.opts,
            "original": product,
            "form": form,
            "media": self.media + form.media,
            "has_view_permission": self.has_view_permission(request, product),
        }
        return TemplateResponse(request, "admin/inventory/product/adjust_stock.html", context)


@admin.register(StockMovement)
class StockMovementAdmin(admin.ModelAdmin):
    """The ledger, read-only: movements are written by the services alone."""

    list_display = ("created_at", "product", "delta", "balance_after", "reason", "order_id", "created_by")
    list_select_related = ("product", "created_by")
    search_fields = ("product__sku",)
    ordering = ("-created_at", "-id")
    fields = ("product", "delta", "balance_after", "reason", "order_id", "created_by", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
