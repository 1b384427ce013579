"""The two list shapes of the contract: page-number (with count) and cursor.

``?page_size=`` is validated like any other input: an integer from 1 to 100,
anything else is a 400 on ``page_size`` (as Stripe does with ``limit``).
"""

from base64 import b64encode
from datetime import UTC
from typing import Any
from urllib import parse

from django.core.paginator import Page
from django.utils.dateparse import parse_datetime
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.utils.urls import remove_query_param, replace_query_param

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


# The stubs type DRF's page size settings Optional; _StrictPageSize always sets them.
class PageNumberPagination(_StrictPageSize, pagination.PageNumberPagination):  # type: ignore[misc]
    # The URL the page's next and previous links are built from; None: the
    # request's own. A page that is cached and served to other requests is
    # given one holding only the parameters the view acts on, so no reader
    # is handed another request's unknown parameters.
    links_from: str | None = None
    # Set by paginate_queryset, before the links are asked for.
    request: Request
    page: Page[Any]

    def _links_base(self) -> str:
        return self.links_from or self.request.build_absolute_uri()

    def get_next_link(self) -> str | None:
        if not self.page.has_next():
            return None
        return replace_query_param(self._links_base(), self.page_query_param, self.page.next_page_number())

    def get_previous_link(self) -> str | None:
        if not self.page.has_previous():
            return None
        number = self.page.previous_page_number()
        if number == 1:
            return remove_query_param(self._links_base(), self.page_query_param)
        return replace_query_param(self._links_base(), self.page_query_param, number)

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


class CursorPagination(_StrictPageSize, pagination.CursorPagination):  # type: ignore[misc]
    ordering = ("-created_at", "-id")

    def decode_cursor(self, request: Request) -> Any:
        # A cursor is input like any other: one that does not decode, or whose
        # position is not a timestamp (a hand-made ``p=2026``, which PostgreSQL
        # refuses in the middle of the query), is a 400 on cursor, not a 500.
        # DRF reads leniently — ``?cursor=`` or a cursor with no key it knows
        # is the first page, junk base64 characters are skipped, keys it does
        # not know are ignored — so only what DRF itself would have written
        # (the cursor encoded again is the same text) is valid.
        invalid = ValidationError({self.cursor_query_param: [self.invalid_cursor_message]}, code="invalid")
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise invalid from None
        if cursor is None:
            return None
        sent = request.query_params[self.cursor_query_param]
        # DRF writes no cursor for the first page: an empty one is never its own.
        if not sent or _encoded(cursor) != sent:
            raise invalid
        if cursor.position is not None and not _is_timestamp(cursor.position):
            raise invalid
        return cursor


def _encoded(cursor: pagination.Cursor) -> str:
    """The cursor as DRF's ``CursorPagination.encode_cursor`` writes it into
    its links (that method returns the whole URL; this is the parameter)."""
    tokens: dict[str, object] = {}
    if cursor.offset != 0:
        tokens["o"] = str(cursor.offset)
    if cursor.reverse:
        tokens["r"] = "1"
    if cursor.position is not None:
        tokens["p"] = cursor.position
    return b64encode(parse.urlencode(tokens, doseq=True).encode("ascii")).decode("ascii")


def _is_timestamp(position: object) -> bool:
    """The position of ``ordering[0]`` (created_at) as DRF writes it (a
    string: the stubs' ``Cursor`` says int), and within the years a datetime
    can hold once in UTC."""
    if not isinstance(position, str):
        return False
    try:
        value = parse_datetime(position)
        if value is not None and value.tzinfo is not None:
            value.astimezone(UTC)
    except (ValueError, OverflowError):
        return False
    return value is not None
