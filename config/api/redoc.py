"""ReDoc's bundle, served from this server with nothing in it that leaves it.

The bundle drf-spectacular-sidecar ships (``redoc.standalone.js``) draws
Redocly's logo in the side menu's footer from
``https://cdn.redoc.ly/redoc/logo-mini.svg``, with no option to turn it off
(Redocly/redoc#2108, drf-spectacular-sidecar#11). The contract says every
script, style, font and image of the docs comes from this server, so
``/api/redoc/`` loads the bundle from here (``SPECTACULAR_SETTINGS["REDOC_DIST"]``
names this view's prefix): the sidecar's file, read once per process, with
the logo's URL replaced by a small image written into the bundle itself (a
``data:`` URL, which the docs' Content-Security-Policy allows).

If an upgrade of the sidecar moves or changes that URL, the bundle is served
as it is, and the browser test (tests/browser/test_docs.py), which fails on
any request to another host, says so.
"""

import functools
import gzip
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.utils.cache import get_conditional_response
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

SIDECAR_BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
CDN_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
# A page with lines, 16 × 16, in the footer's grey. No double quote or
# backslash: it replaces the inside of a JavaScript string.
LOCAL_LOGO = (
    b"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='16' height='16' viewBox='0 0 16 16'"
    b" fill='none' stroke='%23888' stroke-width='1.5'%3E%3Crect x='2.75' y='1.75' width='10.5' height='12.5'"
    b" rx='1.5'/%3E%3Cpath d='M5.5 5.5h5M5.5 8h5M5.5 10.5h3'/%3E%3C/svg%3E"
)
# The map describes the sidecar's bytes, not these (and is not served here).
_SOURCE_MAP = re.compile(rb"\n//# sourceMappingURL=[^\n]*\s*\Z")
_ACCEPTS_GZIP = re.compile(r"\bgzip\b")
# The bundle changes only when the sidecar is upgraded; after a day a browser
# asks again and gets a 304 for the same ETag.
CACHE_CONTROL = "public, max-age=86400"


@dataclass(frozen=True, slots=True)
class Bundle:
    body: bytes
    gzipped: bytes
    etag: str


def offline(bundle: bytes) -> bytes:
    """The sidecar's bundle with the logo drawn from the bundle itself."""
    return _SOURCE_MAP.sub(b"\n", bundle.replace(CDN_LOGO, LOCAL_LOGO))


@functools.cache
def bundle() -> Bundle:
    """Read, rewritten and compressed once per process."""
    path = finders.find(SIDECAR_BUNDLE)
    assert isinstance(path, str), f"{SIDECAR_BUNDLE} is not among the static files"
    with open(path, "rb") as file:
        body = offline(file.read())
    return Bundle(body, gzip.compress(body, mtime=0), f'"{hashlib.sha256(body).hexdigest()[:32]}"')


class JavaScriptRenderer(BaseRenderer):
    """What the view answers, for DRF's negotiation (the body is the bundle's)."""

    media_type = "text/javascript"
    format = "js"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> Any:
        return data


class RedocBundleView(APIView):
    """``GET /api/redoc/bundles/redoc.standalone.js``: public, like the docs
    page (no authentication, rate limited as any anonymous request), gzip when
    the browser takes it, and a 304 for the ETag it already has."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    renderer_classes = [JavaScriptRenderer]
    schema = None  # not part of the API

    def get(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        served = bundle()
        headers = {"ETag": served.etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"}
        unchanged = get_conditional_response(request, etag=served.etag)
        if unchanged is not None:
            for name, value in headers.items():
                unchanged[name] = value
            return unchanged
        response = HttpResponse(served.body, content_type="text/javascript; charset=utf-8", headers=headers)
        if _ACCEPTS_GZIP.search(request.META.get("HTTP_ACCEPT_ENCODING", "")):
            response.content = served.gzipped
            response["Content-Encoding"] = "gzip"
        return response
