"""``Cache-Control: no-store`` on every answer to a signed-in request.

A response to a request that carries credentials (an ``Authorization``
header, or that DRF authenticated) is that user's — their orders, their
profile, the staff view of the catalog — or an error about them: no cache
between the client and us, and no browser cache, may keep it. Anonymous
answers (the public catalog) keep their headers, and stay cacheable.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


class NoStoreWhenAuthenticatedMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # The header covers a request DRF never authenticated (a 404 before
        # any view); ``auth`` (set by DRF) any other way a view signs one in.
        if "HTTP_AUTHORIZATION" in request.META or getattr(request, "auth", None) is not None:
            if "Cache-Control" not in response:
                response["Cache-Control"] = "no-store"
            elif "no-store" not in response["Cache-Control"]:
                patch_cache_control(response, no_store=True)
        return response
