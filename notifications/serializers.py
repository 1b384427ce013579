"""The HTTP contract of webhooks: input and output, no logic."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.api.serializers import InputSerializer
from notifications.domain.webhooks import EVENT_TYPES
from notifications.models import WebhookDelivery, WebhookEndpoint

URL_MAX_LENGTH = 2048


ENDPOINT_FIELDS: tuple[str, ...] = ("id", "url", "events", "description", "is_active", "api_version", "created_at")


class WebhookEndpointSerializer(serializers.ModelSerializer[WebhookEndpoint]):
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES))

    class Meta:
        model = WebhookEndpoint
        fields = ENDPOINT_FIELDS
        read_only_fields = fields


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    """The endpoint as create and rotate-secret answer: the only times its
    secret is shown."""

    secret = serializers.CharField(read_only=True, help_text="whsec_…: shown only now. Store it to verify signatures.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = (*ENDPOINT_FIELDS, "secret")
        read_only_fields = fields


class WebhookEndpointInputSerializer(InputSerializer):
    """POST needs url and events; PATCH (partial) any of the fields."""

    url = serializers.CharField(max_length=URL_MAX_LENGTH)
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES), min_length=1, max_length=20)
    description = serializers.CharField(required=False, allow_blank=True, max_length=500)
    is_active = serializers.BooleanField(required=False)


class WebhookDeliverySerializer(serializers.ModelSerializer[WebhookDelivery]):
    last_status_code = serializers.IntegerField(allow_null=True, read_only=True)
    last_error = serializers.SerializerMethodField()

    class Meta:
        model = WebhookDelivery
        fields = (
            "id", "event_id", "event_type", "status", "attempts", "last_status_code", "last_error",
            "next_attempt_at", "created_at", "delivered_at",
        )  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_last_error(self, delivery: WebhookDelivery) -> str | None:
        return delivery.last_error or None

    def to_representation(self, instance: WebhookDelivery) -> dict[str, Any]:
        data = super().to_representation(instance)
        if instance.status != WebhookDelivery.Status.PENDING:
            data["next_attempt_at"] = None  # only a pending delivery has a next attempt
        return data


class WebhookDeliveryQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=WebhookDelivery.Status.choices, required=False)
