"""Serializer bases shared by every app's HTTP contract."""

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers


class InputSerializer(serializers.Serializer):
    """Input that names a field the endpoint does not take is refused with a
    400 on that field (as Stripe does), so a client never believes it set
    something — ``stock``, ``is_staff``, ``status`` — that was ignored.
    Works at any depth: ``lines.0.price`` is reported too."""

    default_error_messages = {"unknown_field": "This field is not accepted here."}

    def to_internal_value(self, data: Any) -> Any:
        errors: dict[str, Any] = {}
        value = None
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, Mapping):
                raise
            errors.update(exc.detail)
        if isinstance(data, Mapping):
            for name in sorted(set(data) - set(self.fields)):
                errors[name] = [
                    serializers.ErrorDetail(str(self.error_messages["unknown_field"]), code="unknown_field")
                ]
        if errors:
            raise serializers.ValidationError(errors)
        return value
