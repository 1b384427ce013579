"""The HTTP contract of users and auth: input and output, no logic."""

from typing import Any

from rest_framework import serializers
from rest_framework_simplejwt.serializers import PasswordField, TokenObtainPairSerializer

from config.api.serializers import InputSerializer
from users.models import User


class UserSerializer(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        fields = ("id", "email", "username", "full_name", "is_staff", "date_joined")
        read_only_fields = fields


class UserBriefSerializer(serializers.ModelSerializer[User]):
    """A user as embedded in other resources (an order's customer)."""

    class Meta:
        model = User
        fields = ("id", "email", "username")
        read_only_fields = fields


class RegisterInputSerializer(InputSerializer):
    email = serializers.EmailField(max_length=254)
    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)
    full_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class ProfileUpdateInputSerializer(InputSerializer):
    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150, required=False)
    full_name = serializers.CharField(max_length=150, required=False, allow_blank=True)


class TokenObtainInputSerializer(InputSerializer):
    email = serializers.CharField()
    password = serializers.CharField(write_only=True, trim_whitespace=False)


class TokenObtainPairVerbatimSerializer(TokenObtainPairSerializer):
    """simplejwt's sign-in, taking the password exactly as it was registered:
    simplejwt trims it, so a password with edge spaces could never sign in."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password"] = PasswordField(trim_whitespace=False)


class TokenRefreshInputSerializer(InputSerializer):
    refresh = serializers.CharField()


class LogoutInputSerializer(InputSerializer):
    refresh = serializers.CharField()


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(read_only=True)
    refresh = serializers.CharField(read_only=True)
