"""Serializer bases shared by every app's HTTP contract."""

import copy
import functools
from collections.abc import Mapping
from typing import Any

from rest_framework import serializers


class InputSerializer(serializers.Serializer):
    """Input that names a field the endpoint does not take is refused with a
    400 on that field (as Stripe does), so a client never believes it set
    something — ``stock``, ``is_staff``, ``status`` — that was ignored.
    Works at any depth: ``lines.0.price`` is reported too."""

    default_error_messages = {"unknown_field": "This field is not accepted here."}

    def get_fields(self) -> dict[str, serializers.Field]:
        # DRF deep-copies the declared fields for every serializer instance,
        # which builds each field again (its __init__, its validators). A
        # field that holds no other field and no mutable default keeps no
        # state of its own once built: a shallow copy, bound to this
        # serializer, is the same field. The others are deep-copied as DRF
        # does, so that what they hold is this serializer's own.
        deep = _deep_copied(type(self))
        return {
            name: copy.deepcopy(field) if name in deep else copy.copy(field)
            for name, field in self._declared_fields.items()
        }

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
                errors[name] = [serializers.ErrorDetail(self.error_messages["unknown_field"], code="unknown_field")]
        if errors:
            raise serializers.ValidationError(errors)
        return value


@functools.cache
def _deep_copied(serializer_class: type[serializers.Serializer]) -> frozenset[str]:
    """The declared fields a shallow copy would share state through: those
    that hold other fields (a nested serializer, a list or dict field's
    child, a many related field's ``child_relation``) or a mutable default."""
    return frozenset(
        name
        for name, field in serializer_class._declared_fields.items()  # type: ignore[attr-defined]
        if isinstance(field, serializers.BaseSerializer)
        or any(isinstance(value, serializers.Field) for value in vars(field).values())
        or isinstance(field.default, dict | list | set)
    )
