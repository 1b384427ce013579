"""The OpenAPI schema's error responses, true to what the API returns.

drf-standardized-errors documents every error response in the envelope. Two
changes here: a 400's ``attr`` is the real dotted path (``lines.0.quantity``)
and its codes include the domain's own, so the body is documented as the
generic envelope rather than a per-field enumeration; and 409 is documented
only on the operations that declare it.

The schema also states the input rules the API enforces, so that a client
(or the fuzzer in tests/contract/) that follows it is not refused: request
bodies are closed (``additionalProperties: false``), a nested list keeps its
length bounds, a decimal string has a digit and no sign where negatives are
refused, bad query parameters are a documented 400 validation_error, and the
HTTP server's own 414 is documented on every operation.
"""

import re
from typing import Any, Literal

from drf_spectacular.plumbing import force_instance
from drf_standardized_errors.openapi import AutoSchema as StandardizedErrorsAutoSchema
from drf_standardized_errors.openapi_serializers import ClientErrorEnum, ValidationErrorEnum
from rest_framework import serializers

from config.api.serializers import InputSerializer


class ValidationErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="e.g. required, invalid, unique, does_not_exist, coupon_expired")
    detail = serializers.CharField()
    attr = serializers.CharField(
        allow_null=True, help_text="The offending input as a dotted path (lines.0.quantity), or null."
    )


class ValidationErrorResponseSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ValidationErrorEnum.choices)
    # The envelope's field: DRF's metaclass takes declared fields off the class, so
    # it does not hide Serializer.errors, but mypy sees an attribute replacing it.
    errors = ValidationErrorSerializer(many=True)  # type: ignore[assignment]


URI_TOO_LONG = {
    "description": (
        "The request line (path and query string) is longer than the HTTP server accepts "
        "(gunicorn's limit_request_line, 4094 bytes). The server answers before the API does, "
        "so the body is its short HTML page, not the JSON error envelope."
    ),
    "content": {"text/html": {"schema": {"type": "string"}}},
}


class AutoSchema(StandardizedErrorsAutoSchema):
    def _get_response_bodies(self, direction: Literal["request", "response"] = "response") -> Any:
        responses = super()._get_response_bodies(direction=direction)
        if direction == "response":
            # Found by the fuzzer: a request line (path and query string) over
            # gunicorn's limit_request_line is refused by gunicorn itself,
            # before Django, with its own small HTML page.
            responses.setdefault("414", URI_TOO_LONG)
        return responses

    def _should_add_error_response(self, responses: dict[str, Any], status_code: str) -> bool:
        if status_code == "409":
            return False  # declared per operation with extend_schema
        if status_code == "413" and (self.method not in ("POST", "PUT", "PATCH") or not self.get_request_serializer()):
            return False  # only an operation that reads a body can find it too large
        return bool(super()._should_add_error_response(responses, status_code))

    def _should_add_validation_error_response(self) -> bool:
        # Query and header parameters are validated like a body: a bad ?page=,
        # ?page_size= or ?limit= is a 400 validation_error (found by the fuzzer
        # on lists without filters, where only a parse error was documented).
        if super()._should_add_validation_error_response():
            return True
        return any(p["in"] in ("query", "header") for p in self._get_parameters())

    def _get_serializer_for_validation_error_response(self) -> Any:
        return ValidationErrorResponseSerializer

    def _map_basic_serializer(self, serializer: Any, direction: str) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(force_instance(serializer), InputSerializer):
            # The API refuses a field it does not take (400 unknown_field), so
            # the schema says so: a client or a fuzzer reads the same rule.
            schema["additionalProperties"] = False
        return schema

    def _map_serializer_field(self, field: Any, direction: str, bypass_extensions: bool = False) -> Any:
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if not isinstance(schema, dict):
            return schema
        if isinstance(field, serializers.ListSerializer) and schema.get("type") == "array":
            # ``lines`` takes 1 to 100 items; drf-spectacular leaves a nested
            # list's bounds out.
            # (ListSerializer's min_length and max_length are not in DRF's stubs.)
            min_length, max_length = field.min_length, field.max_length  # type: ignore[attr-defined]
            if min_length is not None:
                schema["minItems"] = min_length
            if max_length is not None:
                schema["maxItems"] = max_length
        if isinstance(field, serializers.DecimalField) and "pattern" in schema:
            # A decimal string has at least one digit, and no sign when the
            # field takes no negative values (a price): "", "." and "-1.00"
            # are refused, so the pattern refuses them too.
            digits = re.fullmatch(r"\^-\?\\d\{0,(\d+)\}\(\?:\\\.\\d\{0,(\d+)\}\)\?\$", schema["pattern"])
            if digits:
                whole, places = digits.groups()
                sign = "" if field.min_value is not None and field.min_value >= 0 else "-?"
                schema["pattern"] = rf"^{sign}(?:\d{{1,{whole}}}(?:\.\d{{0,{places}}})?|\.\d{{1,{places}}})$"
        return schema


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
    errors = ConflictErrorSerializer(many=True)  # type: ignore[assignment]  # the envelope's field, as above


class AuthenticationErrorSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="not_authenticated, authentication_failed, token_not_valid, no_active_account, user_inactive, …"
    )
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class AuthErrorResponseSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = AuthenticationErrorSerializer(many=True)  # type: ignore[assignment]  # the envelope's field, as above


class RequestTooLargeErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="request_too_large: the body is over DATA_UPLOAD_MAX_MEMORY_SIZE")
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse413Serializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = RequestTooLargeErrorSerializer(many=True)  # type: ignore[assignment]  # the envelope's field, as above
