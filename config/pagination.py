"""The two list shapes of the contract: page-number (with count) and cursor.

``?page_size=`` is validated like any other input: an integer from 1 to 100,
anything else is a 400 on ``page_size`` (as Stripe does with ``limit``).
"""

from datetime import UTC
from typing import Any

from django.utils.dateparse import parse_datetime
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request

MAX_PAGE_SIZE = 100


class _StrictPageSize:
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError(
                {"page_size": [f"Must be an integer from 1 to {self.max_page_size}."]},
                code="invalid",
            )
        return size

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        params = super().get_schema_operation_parameters(view)  # type: ignore[misc]
        for param in params:
            if param["name"] == self.page_size_query_param:
                param["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
        return params


class PageNumberPagination(_StrictPageSize, pagination.PageNumberPagination):
    def get_page_number(self, request: Request, paginator: Any) -> Any:
        # ?page=abc or ?page=0 is bad input (400 on page); a page past the
        # end stays DRF's 404.
        raw = request.query_params.get(self.page_query_param)
        if raw is not None and raw not in self.last_page_strings:
            try:
                number = int(raw)
            except ValueError:
                number = 0
            if number < 1:
                raise ValidationError({"page": ["Must be a positive integer."]}, code="invalid")
        return super().get_page_number(request, paginator)


class CursorPagination(_StrictPageSize, pagination.CursorPagination):
    ordering = ("-created_at", "-id")

    def decode_cursor(self, request: Request) -> Any:
        # A cursor is input like any other: one that does not decode, or whose
        # position is not a timestamp (a hand-made ``p=2026``, which PostgreSQL
        # refuses in the middle of the query), is a 400 on cursor, not a 500.
        invalid = ValidationError({self.cursor_query_param: [self.invalid_cursor_message]}, code="invalid")
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise invalid from None
        if cursor is not None and cursor.position is not None and not _is_timestamp(cursor.position):
            raise invalid
        return cursor


def _is_timestamp(position: str) -> bool:
    """The position of ``ordering[0]`` (created_at) as DRF writes it, and
    within the years a datetime can hold once in UTC."""
    try:
        value = parse_datetime(position)
        if value is not None and value.tzinfo is not None:
            value.astimezone(UTC)
    except (ValueError, OverflowError):
        return False
    return value is not None
