"""The one request body format the API takes: JSON, parsed by orjson.

orjson parses the bodies the API sees every request. What it would read
differently from Python's parser goes to DRF's parser instead, so the value
— or the 400 and its message — is always exactly DRF's: a body that orjson
refuses (malformed, NaN, a lone surrogate, a charset other than UTF-8), and
one holding a run of 19 or more digits, where orjson turns an integer beyond
64 bits into a float.
"""

import io
import re
from typing import Any

import orjson
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import get_encoding  # type: ignore[attr-defined]  # DRF 3.18's, not in its stubs yet

_LONG_NUMBER = re.compile(rb"\d{19}")
_UTF8 = {"utf-8", "utf8"}


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with orjson's speed; JSON nested deeper than
    Python's parser can follow (``[[[[…]]]]`` well inside the body size limit)
    is a 400 like any other malformed JSON, not a RecursionError and a 500."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        body = stream.read() if stream is not None else b""
        if get_encoding(parser_context or {}).lower() in _UTF8 and not _LONG_NUMBER.search(body):
            try:
                return orjson.loads(body)
            except orjson.JSONDecodeError:
                pass  # DRF's parser says what is wrong, in its words
        try:
            return super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc
