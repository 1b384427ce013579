"""Serializer bases shared by every app's HTTP contract."""

from typing import Any

from rest_framework import serializers


class InputSerializer(serializers.Serializer):
    """Input that names a field the endpoint does not take is refused with a
    400 on that field (as Stripe does), so a client never believes it set
    something — ``stock``, ``is_staff``, ``status`` — that was ignored."""

    default_error_messages = {"unknown_field": "This field is not accepted here."}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if isinstance(self.initial_data, dict):
            unknown = sorted(set(self.initial_data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: [self.error_messages["unknown_field"]] for name in unknown}, code="unknown_field"
                )
        return attrs
