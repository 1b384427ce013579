"""The two list shapes of the contract: page-number (with count) and cursor.

``?page_size=`` is validated like any other input: an integer from 1 to 100,
anything else is a 400 on ``page_size`` (as Stripe does with ``limit``).
"""

from typing import Any

from rest_framework import pagination
from rest_framework.exceptions import ValidationError
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
