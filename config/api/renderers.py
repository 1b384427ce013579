"""The one response format of the API: JSON, rendered by orjson.

The bytes mean what DRF's JSONRenderer would write: values orjson does not
know (Decimal, lazy strings, …) and datetimes go through DRF's own encoder,
keys that are not strings are allowed, and U+2028/U+2029 are escaped as DRF
does. ``Accept: application/json; indent=N`` is still honoured, by DRF.
"""

from typing import Any

import orjson
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

_default = JSONEncoder().default
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type or "", renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        body = orjson.dumps(data, default=_default, option=_OPTIONS)
        if b"\xe2\x80\xa8" in body or b"\xe2\x80\xa9" in body:
            body = body.replace("\u2028".encode(), b"\\u2028").replace("\u2029".encode(), b"\\u2029")
        return body
