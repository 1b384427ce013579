"""OWASP API9:2023 Improper inventory management.

The OpenAPI schema is the inventory: every route the URL resolver serves
under /api/v1/ is a DRF view that authenticates, throttles and answers in the
envelope, and is in the schema with each of its methods — so the tables of
test_owasp_api1 and test_owasp_api5 (checked against the schema) cover every
endpoint there is. Nothing else is versioned or served under /api/.
"""

from collections.abc import Iterator
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import EndpointEnumerator
from rest_framework.views import APIView

from tests.security.helpers import operations, schema

DOCS = {"api/schema/", "api/docs/", "api/redoc/", "api/redoc/bundles/redoc.standalone.js"}


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            assert isinstance(pattern, URLPattern)
            yield prefix + str(pattern.pattern), pattern.callback


def _api_routes() -> list[tuple[str, Any]]:
    return [(route, view) for route, view in _routes(get_resolver().url_patterns) if route.startswith("api/")]


def test_every_api_route_is_a_drf_view_that_authenticates_throttles_and_uses_the_envelope():
    for route, view in _api_routes():
        cls = getattr(view, "cls", None)
        assert cls is not None and issubclass(cls, APIView), f"{route} is not a DRF view"
        if route in DOCS:
            continue
        assert route.startswith("api/v1/"), f"{route}: the only API version is v1"
        assert cls.throttle_classes, f"{route} is not rate limited"
        assert cls().get_exception_handler().__module__ == "drf_standardized_errors.handler", route


def test_every_api_route_and_method_is_in_the_schema_and_nothing_else_is():
    served = {
        (method, path.replace("{pk}", "{id}"))
        for path, _, method, _ in EndpointEnumerator().get_api_endpoints()
        if path.startswith("/api/v1/")
    }
    routes = [route for route, _ in _api_routes() if route.startswith("api/v1/")]

    assert served == set(operations())
    assert len(routes) == len(schema()["paths"]), "a route serves nothing the schema knows of"
    assert all(path.startswith("/api/v1/") for path in schema()["paths"])
