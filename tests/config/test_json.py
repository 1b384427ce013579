"""orjson renders and parses the API's JSON; the bytes and the errors are DRF's."""

import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest
from django.utils.translation import gettext_lazy
from rest_framework import parsers, renderers
from rest_framework.exceptions import ErrorDetail, ParseError
from rest_framework.serializers import Serializer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from config.api.parsers import JSONParser
from config.api.renderers import JSONRenderer

VALUES = [
    {"a": 1, "b": [True, False, None], "c": "text"},
    {"money": Decimal("12.50"), "when": datetime(2026, 12, 1, 9, 30, 0, 123456, tzinfo=UTC), "day": date(2026, 1, 2)},
    {"lazy": gettext_lazy("This field is required."), "detail": ErrorDetail("Not found.", code="not_found")},
    {"separators": "line\u2028paragraph\u2029end", "unicode": "ünïcødé 東京 🚀"},
    {1: "int keys", "nested": {"deep": [{"x": 0.1}, {"y": -3}]}},
    {"uuid": UUID("12345678-1234-5678-1234-567812345678"), "span": timedelta(seconds=90)},
    ReturnList([ReturnDict({"id": 1}, serializer=Serializer())], serializer=Serializer()),
    [],
    "",
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_renders_the_bytes_drfs_renderer_writes(value):
    assert JSONRenderer().render(value) == renderers.JSONRenderer().render(value)


def test_none_is_an_empty_body_and_indent_is_honoured():
    assert JSONRenderer().render(None) == b""
    pretty = JSONRenderer().render({"a": [1]}, "application/json; indent=2")
    assert pretty == renderers.JSONRenderer().render({"a": [1]}, "application/json; indent=2")
    assert b"\n" in pretty


BODIES = [
    b'{"lines": [{"product_id": 1, "quantity": 2}], "coupon": null}',
    b'{"a": 1, "a": 2}',
    b'{"big": 99999999999999999999, "small": -9223372036854775809, "edge": 18446744073709551615}',
    b'{"price": 12.345, "exp": 1e400}',
    '{"name": "ünïcødé \u2028"}'.encode(),
    b'"\\ud800"',
    b"[1, 2, 3]",
    b"NaN",
    b'{"x": Infinity}',
    b'{"unterminated": ',
    b"",
    b"\xff\xfe",
    b"[" * 5000 + b"]" * 5000,
]


def parse(parser, body: bytes, charset: str | None = None):
    context = {"encoding": charset} if charset else {}
    try:
        return ("value", parser.parse(io.BytesIO(body), "application/json", context))
    except ParseError as exc:
        return ("error", str(exc.detail))
    except RecursionError:
        return ("error", "recursion")


@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_parses_what_drfs_parser_parses_and_refuses_what_it_refuses(body):
    ours = parse(JSONParser(), body)
    drf = parse(parsers.JSONParser(), body)
    if drf == ("error", "recursion"):
        assert ours[0] == "error" and "nested too deeply" in ours[1]
    else:
        assert ours == drf
        if ours[0] == "value":
            assert json.dumps(ours[1]) == json.dumps(drf[1])  # same types: int stays int


def test_a_body_in_another_charset_is_decoded_by_it():
    body = '{"name": "café"}'.encode("utf-16")
    assert parse(JSONParser(), body, "utf-16") == ("value", {"name": "café"})
