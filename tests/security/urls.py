"""The project's URLs plus two views that fail outside DRF (one under /api/,
one under /admin/), to see what Django itself answers in production."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import handler400, handler403, handler404, handler500
from config.urls import urlpatterns as project_urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


def fail(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("SELECT password FROM users_user -- a secret that must not leave the server")


urlpatterns = [
    path("api/v1/plain-failure/", fail),
    path("admin/plain-failure/", fail),
    *project_urlpatterns,
]
