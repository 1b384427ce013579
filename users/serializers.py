"""The HTTP contract of users and auth: input and output, no logic."""

from rest_framework import serializers

from config.serializers import InputSerializer
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


class LogoutInputSerializer(InputSerializer):
    refresh = serializers.CharField()


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(read_only=True)
    refresh = serializers.CharField(read_only=True)
