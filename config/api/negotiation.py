"""Content negotiation: DRF's, with the usual request answered without parsing."""

from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation. A request without ``?format=`` whose ``Accept`` is
    absent, ``*/*`` or exactly the first renderer's type gets that renderer
    and its type — DRF's own answer — without parsing the header into media
    types (a few percent of a cached product page); every other request is
    DRF's to negotiate (a test holds the two to the same answers)."""

    # DRF hands it the view's list of renderers; the stubs type any Iterable.
    def select_renderer(  # type: ignore[override]
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> Any:
        if renderers and not format_suffix:
            first = renderers[0]
            if request.META.get("HTTP_ACCEPT", "*/*") in ("*/*", first.media_type) and (
                self.settings.URL_FORMAT_OVERRIDE not in request.query_params
            ):
                return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)
