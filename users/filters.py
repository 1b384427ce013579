"""User list search: ``?search=`` over email, username and full name."""

from typing import Any

from rest_framework import filters
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request


class UserSearchFilter(filters.SearchFilter):
    """DRF's search, with its errors on ``search``: a NUL byte is a 400 whose
    attr names the parameter, like any other invalid query parameter."""

    def get_search_terms(self, request: Request) -> Any:
        try:
            return super().get_search_terms(request)
        except ValidationError as exc:
            raise ValidationError({self.search_param: exc.detail}) from exc
