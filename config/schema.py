"""The OpenAPI schema's error responses, true to what the API returns.

drf-standardized-errors documents every error response in the envelope. Two
changes here: a 400's ``attr`` is the real dotted path (``lines.0.quantity``)
and its codes include the domain's own, so the body is documented as the
generic envelope rather than a per-field enumeration; and 409 is documented
only on the operations that declare it.
"""

from typing import Any

from drf_standardized_errors.openapi import AutoSchema as StandardizedErrorsAutoSchema
from drf_standardized_errors.openapi_serializers import ClientErrorEnum, ValidationErrorEnum
from rest_framework import serializers


class ValidationErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="e.g. required, invalid, unique, does_not_exist, coupon_expired")
    detail = serializers.CharField()
    attr = serializers.CharField(
        allow_null=True, help_text="The offending input as a dotted path (lines.0.quantity), or null."
    )


class ValidationErrorResponseSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ValidationErrorEnum.choices)
    errors = ValidationErrorSerializer(many=True)


class AutoSchema(StandardizedErrorsAutoSchema):
    def _should_add_error_response(self, responses: dict[str, Any], status_code: str) -> bool:
        if status_code == "409":
            return False  # declared per operation with extend_schema
        return bool(super()._should_add_error_response(responses, status_code))

    def _get_serializer_for_validation_error_response(self) -> Any:
        return ValidationErrorResponseSerializer


class ConflictErrorSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="insufficient_stock, invalid_transition, idempotency_key_reused or idempotency_key_in_use"
    )
    detail = serializers.CharField()
    attr = serializers.CharField(
        allow_null=True, help_text="For insufficient_stock, the short line (lines.0.quantity)."
    )


class ErrorResponse409Serializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = ConflictErrorSerializer(many=True)


class AuthenticationErrorSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="not_authenticated, authentication_failed, token_not_valid, no_active_account, user_inactive, …"
    )
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class AuthErrorResponseSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = AuthenticationErrorSerializer(many=True)
