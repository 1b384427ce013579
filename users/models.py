from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone


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
