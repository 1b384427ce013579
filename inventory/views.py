"""Thin views over the catalog and the ledger."""

from collections.abc import Callable
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from config.api import page_keys
from config.api.pagination import PageNumberPagination
from config.api.permissions import IsStaff
from config.api.renderers import JSONRenderer
from config.api.schema import ErrorResponse409Serializer
from config.platform import read_cache, redis_pipeline
from inventory import selectors, services
from inventory.filters import ProductFilter
from inventory.serializers import (
    ProductCreateInputSerializer,
    ProductSerializer,
    ProductUpdateInputSerializer,
    StockAdjustmentInputSerializer,
    StockAdjustmentSerializer,
    StockMovementSerializer,
)
from inventory.services import CATALOG, CATALOG_TTL


def _json(body: bytes) -> HttpResponse:
    return HttpResponse(body, content_type=JSONRenderer.media_type)


def _is_staff(request: Request) -> bool:
    return bool(request.user and request.user.is_authenticated and request.user.is_staff)


_list_query = page_keys.page_query_reader(ProductFilter, PageNumberPagination)


def _product_id(pk: str) -> int | str:
    """The id a detail URL names (``007`` is 7), as the lookup reads it."""
    try:
        return int(pk)
    except ValueError:  # more digits than int() reads: the lookup fails too, and nothing is cached
        return pk


@extend_schema(tags=["products"])
class ProductViewSet(viewsets.GenericViewSet):
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    pagination_class = PageNumberPagination  # its links are built from the page's key (list)
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> Any:
        return selectors.product_list(include_inactive=_is_staff(self.request))

    def filter_queryset(self, queryset: Any) -> Any:
        # The list's filters narrow the list; a detail URL names one product
        # whatever its query string says (no 404 for ?in_stock=true).
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def get_permissions(self) -> list[Any]:
        if self.action in ("list", "retrieve"):
            return [AllowAny()]
        return [IsStaff()]

    def _cache_parts(self, request: Request) -> tuple[Any, ...]:
        """What tells one cached page from another: public or staff (they see
        different products; nothing here is per user), and for a product its
        id; for a list page, the parameters the list acts on, read as it reads
        them (config.api.page_keys: junk parameters are no part of it), and the
        scheme and host its absolute next/previous links start from."""
        if self.action == "retrieve":
            return ("retrieve", _is_staff(request), _product_id(self.kwargs[self.lookup_field]))
        origin = f"{request.scheme}://{request.get_host()}{request.path}"
        return ("list", _is_staff(request), origin, _list_query(request.query_params))

    def _cached(self, request: Request, render: Callable[[], bytes]) -> HttpResponse:
        return _json(read_cache.cached(CATALOG, self._cache_parts(request), CATALOG_TTL, render))

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        """A page's lookup in the read cache rides the rate limiter's round
        trip to Redis (config.platform.redis_pipeline): one round trip for a
        cached page, the limits still counted before anything is served."""
        if self.action in ("list", "retrieve"):
            self.perform_authentication(request)  # DRF's first step: staff see another page
            read_cache.look_up_ahead(CATALOG, self._cache_parts(request))
        try:
            super().initial(request, *args, **kwargs)
        finally:
            redis_pipeline.take_riders()  # one the limiter did not take is dropped

    # Pages are cached as the JSON bytes they are sent as: a hit is no
    # rendering, and no round trip of its own to Redis.
    def list(self, request: Request) -> HttpResponse:
        def render() -> bytes:
            # The page is cached for every request with the same key: its links
            # carry the key's parameters, not this request's spelling of them.
            _, _, origin, params = self._cache_parts(request)
            paginator = self.paginator
            assert isinstance(paginator, PageNumberPagination)  # pagination_class
            paginator.links_from = origin + page_keys.query_string(params)
            page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
            return JSONRenderer().render(self.get_paginated_response(ProductSerializer(page, many=True).data).data)

        return self._cached(request, render)

    def retrieve(self, request: Request, pk: str) -> HttpResponse:
        def render() -> bytes:
            return JSONRenderer().render(ProductSerializer(self.get_object()).data)

        return self._cached(request, render)

    @extend_schema(request=ProductCreateInputSerializer, responses={201: ProductSerializer})
    def create(self, request: Request) -> Response:
        data = ProductCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        product = services.product_create(**data.validated_data, created_by_id=request.user.id)
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ProductUpdateInputSerializer, responses={200: ProductSerializer})
    def update(self, request: Request, pk: str, partial: bool = False) -> Response:
        product = self.get_object()
        data = ProductUpdateInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        product = services.product_update(product=product, **data.validated_data)
        return Response(ProductSerializer(product).data)

    @extend_schema(request=ProductUpdateInputSerializer, responses={200: ProductSerializer})
    def partial_update(self, request: Request, pk: str) -> Response:
        return self.update(request, pk, partial=True)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        services.product_delete(product=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=StockAdjustmentInputSerializer,
        responses={201: StockAdjustmentSerializer, 409: ErrorResponse409Serializer},
    )
    @action(detail=True, methods=["post"], url_path="stock-adjustments")
    def stock_adjustments(self, request: Request, pk: str) -> Response:
        product = self.get_object()
        data = StockAdjustmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        movement = services.stock_adjust(product=product, created_by_id=request.user.id, **data.validated_data)
        body = StockAdjustmentSerializer({"product": product, "movement": movement}).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: StockMovementSerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"], url_path="stock-movements")
    def stock_movements(self, request: Request, pk: str) -> Response:
        page = self.paginate_queryset(selectors.movement_list(product=self.get_object()))
        return self.get_paginated_response(StockMovementSerializer(page, many=True).data)
