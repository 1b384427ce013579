"""Thin views over orders, coupons and reports."""

from collections.abc import Sequence
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.pagination import CursorPagination
from config.api.permissions import IsStaff
from config.api.schema import ErrorResponse409Serializer
from config.platform import read_cache
from config.platform.ratelimit import OrderCreateThrottle
from orders import selectors, services
from orders.domain.placement import DraftLine, OrderDraft
from orders.domain.returns import ReturnDraft, ReturnDraftLine
from orders.domain.status import Status
from orders.filters import OrderFilter
from orders.models import Order
from orders.serializers import (
    CouponInputSerializer,
    CouponSerializer,
    CouponUpdateInputSerializer,
    OrderCreateInputSerializer,
    OrderEventSerializer,
    OrderNoteInputSerializer,
    OrderSerializer,
    OrderTransitionInputSerializer,
    ReturnInputSerializer,
    ReturnSerializer,
    TopCustomerSerializer,
    TopCustomersQuerySerializer,
    order_model_representation,
    order_representation,
)
from users.auth import signed_in_user

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 255},  # what create() accepts; anything else is a 400
    OpenApiParameter.HEADER,
    required=False,
    description="Replays the first response for 24 hours; the same key with another body is a 409.",
)


def _render(order: Order) -> Any:
    return OrderSerializer(order).data


def _render_placed(placed: services.PlacedOrder) -> Any:
    return order_model_representation(placed.order, placed.lines)


@extend_schema(tags=["orders"])
class OrderViewSet(viewsets.GenericViewSet):
    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    pagination_class = CursorPagination
    lookup_value_regex = r"\d+"

    queryset = Order.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return selectors.order_list(user=signed_in_user(self.request))

    def filter_queryset(self, queryset: Any) -> Any:
        # The filters narrow the list only: a detail URL names one order whatever
        # its query string says (``/orders/5/?status=paid`` is order 5, not a 404).
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def get_throttles(self) -> list[Any]:
        throttles = super().get_throttles()
        return [*throttles, OrderCreateThrottle()] if self.action == "create" else throttles

    def get_permissions(self) -> Sequence[Any]:
        if self.action == "transition" or (self.action in ("events", "returns") and self.request.method == "POST"):
            return [IsStaff()]
        return super().get_permissions()

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(OrderSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        # The hot read: rows rendered directly, no model instances.
        return Response(order_representation(*selectors.order_rows(user=signed_in_user(request), order_id=int(pk))))

    @extend_schema(
        request=OrderCreateInputSerializer,
        responses={201: OrderSerializer, 409: ErrorResponse409Serializer},
        parameters=[IDEMPOTENCY_KEY],
    )
    def create(self, request: Request) -> Response:
        data = OrderCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        draft = OrderDraft(
            lines=tuple(DraftLine(**line) for line in data.validated_data["lines"]),
            coupon=data.validated_data.get("coupon"),
        )
        key = request.headers.get("Idempotency-Key")
        if key is None:
            placed = services.order_place(customer=signed_in_user(request), draft=draft)
            return Response(_render_placed(placed), status=status.HTTP_201_CREATED)
        if not 1 <= len(key) <= 255:
            raise ValidationError({"Idempotency-Key": ["Must be 1 to 255 characters."]})
        response, replayed = services.order_place_idempotent(
            customer=signed_in_user(request), draft=draft, key=key, request_body=request.data, render=_render_placed
        )
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        return Response(response.body, status=response.status, headers=headers)

    @extend_schema(request=None, responses={200: OrderSerializer, 409: ErrorResponse409Serializer})
    @action(detail=True, methods=["post"], filterset_class=None)
    def cancel(self, request: Request, pk: str) -> Response:
        order = self.get_object()
        services.order_cancel(order_id=order.id, actor=signed_in_user(request))
        return Response(_render(self.get_object()))

    @extend_schema(
        request=OrderTransitionInputSerializer, responses={200: OrderSerializer, 409: ErrorResponse409Serializer}
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def transition(self, request: Request, pk: str) -> Response:
        order = self.get_object()
        data = OrderTransitionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.order_transition(
            order_id=order.id, target=Status(data.validated_data["status"]), actor=signed_in_user(request)
        )
        return Response(_render(self.get_object()))

    @extend_schema(methods=["GET"], request=None, responses={200: OrderEventSerializer(many=True)})
    @extend_schema(methods=["POST"], request=OrderNoteInputSerializer, responses={201: OrderEventSerializer})
    @action(detail=True, methods=["get", "post"], filterset_class=None, pagination_class=None)
    def events(self, request: Request, pk: str) -> Response:
        user = signed_in_user(request)
        if request.method == "GET":
            events = selectors.order_events(user=user, order_id=int(pk))
            return Response(OrderEventSerializer(events, many=True).data)
        order = self.get_object()
        data = OrderNoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event = services.order_note_add(order_id=order.id, actor=user, note=data.validated_data["note"])
        return Response(OrderEventSerializer(event).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], request=None, responses={200: ReturnSerializer(many=True)})
    @extend_schema(
        methods=["POST"],
        request=ReturnInputSerializer,
        responses={201: ReturnSerializer, 409: ErrorResponse409Serializer},
    )
    @action(detail=True, methods=["get", "post"], filterset_class=None, pagination_class=None)
    def returns(self, request: Request, pk: str) -> Response:
        user = signed_in_user(request)
        if request.method == "GET":
            return Response(ReturnSerializer(selectors.order_returns(user=user, order_id=int(pk)), many=True).data)
        order = self.get_object()
        data = ReturnInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        draft = ReturnDraft(tuple(ReturnDraftLine(**line) for line in data.validated_data["lines"]))
        recorded = services.order_return_record(
            order_id=order.id, draft=draft, reason=data.validated_data["reason"], actor=user
        )
        return Response(ReturnSerializer(recorded).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["coupons"])
class CouponViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = CouponSerializer
    permission_classes = [IsStaff]
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> Any:
        return selectors.coupon_list()

    @extend_schema(request=CouponInputSerializer, responses={201: CouponSerializer})
    def create(self, request: Request) -> Response:
        data = CouponInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        coupon = services.coupon_create(**data.validated_data)
        return Response(CouponSerializer(coupon).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CouponUpdateInputSerializer, responses={200: CouponSerializer})
    def partial_update(self, request: Request, pk: str) -> Response:
        coupon = self.get_object()
        data = CouponUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        coupon = services.coupon_update(coupon_id=coupon.id, **data.validated_data)
        return Response(CouponSerializer(coupon).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        services.coupon_delete(coupon_id=self.get_object().id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TopCustomersView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        parameters=[TopCustomersQuerySerializer], responses={200: TopCustomerSerializer(many=True)}, tags=["reports"]
    )
    def get(self, request: Request) -> Response:
        query = TopCustomersQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        limit = query.validated_data["limit"]

        def render() -> Any:
            return TopCustomerSerializer(selectors.top_customers(limit=limit), many=True).data

        return Response(read_cache.cached(services.ORDERS, ("top-customers", limit), services.REPORT_TTL, render))
