"""The OpenAPI schema at ``/api/schema/``, generated once per process.

drf-spectacular generates the schema on every request: a walk of every view
and serializer, most of a second of CPU, for anyone (the schema is public) —
a few requests a second keep a core busy. The schema changes only with the
code, so each variant the view can produce is generated and rendered once,
by drf-spectacular itself, and its bytes are served after that.

A variant is what the bytes depend on: the language (``?lang=``, one of
``LANGUAGES``, a region falling back to its language as gettext does; any
other value is the default language, as drf-spectacular's output for it
is), the version (``?version=`` only when ``REST_FRAMEWORK["ALLOWED_VERSIONS"]``
lists it: drf-spectacular would otherwise write any text it is given into
``info.version``, a new variant for every value), the format (YAML or
JSON, by ``Accept`` or ``?format=``) and, for JSON, the indent ``Accept``
may ask for (DRF reads 1 to 8). That bounds what a process can be made to
keep; the bytes are kept compressed (~400 kB of JSON is ~12 kB), so even
every variant of every language is about ten megabytes, generated once each.
"""

import threading
import zlib
from collections.abc import Sequence
from contextlib import nullcontext
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.utils import translation
from drf_spectacular.settings import patched_settings
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SCHEMA_KWARGS, SpectacularAPIView
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.settings import api_settings

Variant = tuple[str | None, str | None, str, int | None]

# variant → (the rendered bytes, compressed; the Content-Disposition header)
_variants: dict[Variant, tuple[bytes, str]] = {}
# One generation at a time: the first requests for a variant wait for one
# generation, instead of each making its own.
_generating = threading.Lock()
_LONGEST_LANGUAGE_CODE = 32


def forget() -> None:
    """Drop every generated variant (tests; the code does not change under a running process)."""
    _variants.clear()


def _language(raw: str | None) -> str | None:
    """The language of ``LANGUAGES`` that ``?lang=`` names (``de-AT`` and
    ``de_at`` fall back to ``de``), or None: the default language."""
    if not settings.USE_I18N or not raw or len(raw) > _LONGEST_LANGUAGE_CODE:
        return None
    codes = {code.lower() for code, _ in settings.LANGUAGES}
    code = raw.lower().replace("_", "-")
    while code:
        if code in codes and translation.check_for_language(code):
            return code
        code = code.rpartition("-")[0]
    return None


def _content_type(renderer: BaseRenderer) -> str:
    """As DRF's Response writes it for ``renderer``."""
    return f"{renderer.media_type}; charset={renderer.charset}" if renderer.charset else renderer.media_type


class SchemaView(SpectacularAPIView):
    """drf-spectacular's schema view (anonymous, ``SERVE_PERMISSIONS``), each
    variant generated once per process. A view serving a non-public schema
    (``serve_public`` false: it depends on who asks) or a urlconf of its own
    is drf-spectacular's, generated every time."""

    @extend_schema(**SCHEMA_KWARGS)  # as drf-spectacular's: the schema leaves itself out
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        if not self.serve_public or self.urlconf is not None or self.custom_settings:
            return super().get(request, *args, **kwargs)
        renderer, accepted = request.accepted_renderer, request.accepted_media_type
        lang = _language(request.GET.get("lang"))
        version = self.api_version or request.version or self._get_version_parameter(request)
        indent = renderer.get_indent(accepted, {}) if isinstance(renderer, JSONRenderer) else None
        key = (lang, version, renderer.format, indent)
        found = _variants.get(key)
        if found is None:
            with _generating:
                found = _variants.get(key)
                if found is None:
                    found = _variants[key] = self._generate(request, lang)
        body, disposition = found
        return HttpResponse(
            zlib.decompress(body), content_type=_content_type(renderer), headers={"Content-Disposition": disposition}
        )

    def _generate(self, request: Request, lang: str | None) -> tuple[bytes, str]:
        """drf-spectacular's own response, rendered as it would be on its way
        out (after the language is back: as drf-spectacular's view does)."""
        language = translation.override(lang) if lang else nullcontext()
        with patched_settings(self.custom_settings), language:
            response = self._get_schema_response(request)
        response.accepted_renderer = request.accepted_renderer
        response.accepted_media_type = request.accepted_media_type
        response.renderer_context = self.get_renderer_context()
        return zlib.compress(response.rendered_content), response["Content-Disposition"]

    def _get_version_parameter(self, request: Request) -> str | None:
        # Only a version the API declares (drf-spectacular takes any without
        # ALLOWED_VERSIONS): each would be a schema to generate and keep.
        version = request.GET.get("version")
        allowed: Sequence[str] | None = api_settings.ALLOWED_VERSIONS
        return version if allowed and version in allowed else None
