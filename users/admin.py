"""The admin for accounts: the email is the login, and the password hash is
never shown — only a link to the form that sets a new password.

Accounts are deactivated, never deleted, so order history stays whole; the
action, and unticking "active" on the change form, call the same service as
``DELETE /api/v1/users/{id}/``, and only a superuser may do either. Only a
superuser may change who is staff or superuser, groups and permissions, or
change a staff account at all (its password included): otherwise a staff
member allowed to change users could make themselves superuser.

Sign-ins to the admin go through :class:`AdminSigninForm`: failed ones are
limited per account from one address and per address (users.signin_limits).
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from users import selectors, services, signin_limits
from users.domain.signin import Scope, Verdict
from users.models import User, normalize_email


def _locked_error(verdict: Verdict) -> ValidationError:
    minutes = verdict.minutes_left
    wait = f"{minutes} minute{'s' if minutes != 1 else ''}"
    whose = "for this account from your address" if verdict.scope is Scope.ACCOUNT else "from your address"
    return ValidationError(
        f"Too many failed sign-ins {whose}. Try again in {wait}; until then even the right password is refused.",
        code="locked",
    )


class AdminSigninForm(AdminAuthenticationForm):
    """The admin's login form, with failed sign-ins limited: the lock is
    checked before the password, so a locked attempt is refused whatever
    it typed and costs no password hash."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password:
            return super().clean()  # a field is missing: no password is checked
        if self.request is None:  # not the admin's login view: nothing to count by
            return super().clean()
        attempt, verdict = signin_limits.signin_attempt_begin(account=username, request=self.request)
        if not verdict.allowed:
            raise _locked_error(verdict)
        try:
            cleaned = super().clean()
        except ValidationError as error:
            now = signin_limits.signin_attempt_failed(attempt)
            if now.allowed:
                raise
            raise ValidationError([*error.error_list, _locked_error(now)]) from None
        signin_limits.signin_attempt_succeeded(attempt)
        return cleaned


admin.site.login_form = AdminSigninForm

# Only a superuser changes these: with them a staff member could raise themselves.
SUPERUSER_ONLY_FIELDS = ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")


class _UniqueEmailAndUsernameMixin:
    """Emails are stored lower-cased and usernames are unique whatever their
    case: say so on the field instead of failing on the database constraint."""

    instance: User
    cleaned_data: dict[str, Any]

    def clean_email(self) -> str:
        email = normalize_email(self.cleaned_data["email"])
        if selectors.email_taken(email, exclude_id=self.instance.pk):
            raise forms.ValidationError("A user with this email already exists.", code="unique")
        return email

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if selectors.username_taken(username, exclude_id=self.instance.pk):
            raise forms.ValidationError("A user with this username already exists.", code="unique")
        return username


class UserCreationForm(_UniqueEmailAndUsernameMixin, AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "username", "full_name")


class UserChangeForm(_UniqueEmailAndUsernameMixin, forms.ModelForm):
    # No password field at all: the hash stays out of the page.
    class Meta:
        model = User
        fields = (
            "email",
            "username",
            "full_name",
            "is_active",
            "is_staff",
            "is_superuser",
            "groups",
            "user_permissions",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        permissions = self.fields.get("user_permissions")
        if isinstance(permissions, forms.ModelMultipleChoiceField) and permissions.queryset is not None:
            permissions.queryset = permissions.queryset.select_related("content_type")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    list_display = ("email", "username", "full_name", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_active", "is_superuser")
    search_fields = ("email", "username", "full_name")
    ordering = ("id",)
    readonly_fields = ("password_change", "last_login", "date_joined")
    actions = ("deactivate",)
    fieldsets = (
        (None, {"fields": ("email", "username", "full_name", "password_change")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "username", "full_name", "usable_password", "password1", "password2"),
            },
        ),
    )

    @admin.display(description="Password")
    def password_change(self, obj: User) -> str:
        if obj.pk is None:
            return "—"
        url = reverse(f"{self.admin_site.name}:auth_user_password_change", args=[obj.pk])
        return format_html('Passwords are not shown. <a href="{}">Set a new password</a>.', url)

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> Any:
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if request.user.is_superuser else (*fields, *SUPERUSER_ONLY_FIELDS)

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        # A staff account (its password too) is changed by a superuser only:
        # whoever sets its password becomes it, with its permissions.
        if obj is not None and (obj.is_staff or obj.is_superuser) and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_deactivate_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser  # as DELETE /api/v1/users/{id}/

    def save_model(self, request: HttpRequest, obj: User, form: forms.ModelForm, change: bool) -> None:
        deactivating = change and "is_active" in form.changed_data and not obj.is_active
        if deactivating:
            obj.is_active = True  # the service below deactivates, and revokes the refresh tokens with it
        super().save_model(request, obj, form, change)
        if deactivating:
            services.user_deactivate(user=obj)

    @admin.action(
        description="Deactivate selected users (they can no longer sign in; orders are kept)",
        permissions=["deactivate"],
    )
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = 0
        for user in queryset.filter(is_active=True):
            services.user_deactivate(user=user)
            count += 1
        self.message_user(request, f"Deactivated {count} user(s).", messages.SUCCESS)

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return False
