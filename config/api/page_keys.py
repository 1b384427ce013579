"""The query of a cached list page, reduced to what its view acts on.

A page cached under its full URL gives every junk parameter (``?x=1``,
``?x=2``…) an entry of its own. A key built here holds only the parameters
the view recognises — its FilterSet's filters and its paginator's ``page``
and ``page_size`` — each read as the view reads it: the last of repeated
values, through the filter's own form field (``to_python``), so that two
spellings of one request (``page=02`` and ``page=2``, ``in_stock=TRUE`` and
``in_stock=1``, ``min_price=1.5`` and ``min_price= 15e-1``) are one key, an
empty value is no parameter, and a parameter the view does not know is not
in the key at all.

Each parameter comes out as ``(name, text, valid)``: ``text`` spells the
value the view acts on — read again, it gives that value (so the page's
links are built from it); ``valid`` is False for a value the view refuses
with a 400 before anything is cached, kept as it was sent (its key is then
distinct from every valid one, and never holds an entry). Validation after
``to_python`` (a CharField's length, a DecimalField's digits) depends on the
value alone, so one key never mixes a value the view accepts with one it
refuses.

No FilterSet is built (that is for a miss), nothing touches the database:
this runs before the cache's lookup on every request for the page.
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.http import QueryDict
from django_filters.constants import EMPTY_VALUES
from django_filters.filterset import BaseFilterSet

from config.api.pagination import PageNumberPagination

Param = tuple[str, str, bool]
# A reader: the query → None (as if absent) or (text, valid).
Reader = Callable[[QueryDict], tuple[str, bool] | None]

# Form fields whose to_python is cheap and pure (no query, no clock) and
# whose value is spelled back by _spelling(). A filter with another field is
# refused when the reader is built, rather than keyed wrongly.
_KEYABLE_FIELDS = (forms.CharField, forms.IntegerField, forms.NullBooleanField, forms.BooleanField, forms.ChoiceField)
_UNKEYABLE_FIELDS = (forms.ModelChoiceField, forms.MultipleChoiceField)


def _spelling(value: Any) -> str | None:
    """Text that a form field reads back as ``value``; None for a type not
    known here (the parameter is then keyed as it was sent)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | Decimal):
        return str(value)  # a Decimal's str keeps its digits and exponent, all its validators look at
    if isinstance(value, float):
        return repr(value)
    return None


def _filter_reader(name: str, field: forms.Field) -> Reader:
    widget = field.widget
    if (
        not isinstance(field, _KEYABLE_FIELDS)
        or isinstance(field, _UNKEYABLE_FIELDS)
        or isinstance(widget, forms.MultiWidget)
        or getattr(widget, "allow_multiple_selected", False)
    ):
        raise ImproperlyConfigured(
            f"filter {name!r} ({type(field).__name__}, {type(widget).__name__}) cannot be keyed by "
            "config.api.page_keys: teach it how the view reads that field"
        )

    def read(query: QueryDict) -> tuple[str, bool] | None:
        raw = widget.value_from_datadict(query, {}, name)  # the last value, as the filter's form reads it
        if raw is None:
            return None
        try:
            value = field.to_python(raw)
        except ValidationError:
            return raw, False
        if value in EMPTY_VALUES:  # django-filter skips a filter whose value is empty
            return None
        text = _spelling(value)
        return (raw, True) if text is None else (text, True)

    return read


def _page_reader(paginator: type[PageNumberPagination]) -> Reader:
    """``?page=`` as config.api.pagination reads it: a positive integer (1 is the
    first page, as if absent) or one of DRF's ``last_page_strings``."""
    name = paginator.page_query_param

    def read(query: QueryDict) -> tuple[str, bool] | None:
        raw = query.get(name)
        if raw is None:
            return None
        if raw in paginator.last_page_strings:
            return raw, True
        try:
            number = int(raw)
        except ValueError:
            return raw, False
        if number < 1:
            return raw, False
        return None if number == 1 else (str(number), True)

    return read


def _page_size_reader(paginator: type[PageNumberPagination]) -> Reader:
    """``?page_size=`` as config.api.pagination reads it: an integer from 1 to the
    maximum. A size given is kept, even the default: the page's links repeat it."""
    name = paginator.page_size_query_param

    def read(query: QueryDict) -> tuple[str, bool] | None:
        raw = query.get(name)
        if raw is None:
            return None
        try:
            size = int(raw)
        except ValueError:
            return raw, False
        return (str(size), True) if 1 <= size <= paginator.max_page_size else (raw, False)

    return read


def page_query_reader(
    filterset_class: type[BaseFilterSet], paginator: type[PageNumberPagination] = PageNumberPagination
) -> Callable[[QueryDict], tuple[Param, ...]]:
    """A function from a request's query to the sorted parameters of its
    key; build it once per view (at import)."""
    assert paginator.page_size_query_param is not None
    readers: dict[str, Reader] = {
        name: _filter_reader(name, flt.field) for name, flt in filterset_class.base_filters.items()
    }
    readers[paginator.page_query_param] = _page_reader(paginator)
    readers[paginator.page_size_query_param] = _page_size_reader(paginator)

    def read(query: QueryDict) -> tuple[Param, ...]:
        params = []
        for name in query:  # only the names sent (usually one or two), each read once
            reader = readers.get(name)
            if reader is not None and (found := reader(query)) is not None:
                params.append((name, *found))
        params.sort()
        return tuple(params)

    return read


def query_string(params: tuple[Param, ...]) -> str:
    """The query string of valid parameters (``?a=1&b=2``; empty for none)."""
    return f"?{urlencode([(name, text) for name, text, _ in params])}" if params else ""
