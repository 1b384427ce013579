from collections.abc import Callable
from functools import wraps

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

from config.api.redoc import RedocBundleView
from config.api.schema_view import SchemaView
from config.platform.health import healthz, readyz
from config.platform.metrics import metrics_view

# The busiest first: Django tries each app's patterns in turn, and every app
# tried before the one that matches costs the request its list of misses.
api_v1 = [
    path("", include("inventory.urls")),
    path("", include("orders.urls")),
    path("", include("users.urls")),
    path("", include("notifications.urls")),
]

# The API docs load nothing from another host, and the browser holds them to it
# (ReDoc's bundle is served by config.api.redoc, without the logo it would fetch from a CDN).
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def offline(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
        return response

    return wrapped


urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/schema/", SchemaView.as_view(), name="schema"),  # generated once per process
    path("api/docs/", offline(SpectacularSwaggerView.as_view(url_name="schema")), name="swagger-ui"),
    path("api/redoc/", offline(SpectacularRedocView.as_view(url_name="schema")), name="redoc"),
    path("api/redoc/bundles/redoc.standalone.js", RedocBundleView.as_view(), name="redoc-bundle"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
]

handler400 = "config.api.errors_handler.bad_request"
handler403 = "config.api.errors_handler.permission_denied"
handler404 = "config.api.errors_handler.not_found"
handler500 = "config.api.errors_handler.server_error"
