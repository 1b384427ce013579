"""Thin views over webhook endpoints and their delivery logs (staff only)."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.pagination import PageNumberPagination
from config.api.permissions import IsStaff
from notifications import webhooks
from notifications.models import WebhookDelivery, WebhookEndpoint
from notifications.serializers import (
    WebhookDeliveryQuerySerializer,
    WebhookDeliverySerializer,
    WebhookEndpointInputSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointWithSecretSerializer,
)


@extend_schema(tags=["webhooks"])
class WebhookEndpointViewSet(viewsets.GenericViewSet):
    serializer_class = WebhookEndpointSerializer
    pagination_class = PageNumberPagination
    permission_classes = [IsStaff]
    lookup_value_regex = r"\d+"
    queryset = WebhookEndpoint.objects.all()

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(WebhookEndpointSerializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(WebhookEndpointSerializer(self.get_object()).data)

    @extend_schema(request=WebhookEndpointInputSerializer, responses={201: WebhookEndpointWithSecretSerializer})
    def create(self, request: Request) -> Response:
        data = WebhookEndpointInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = webhooks.endpoint_create(**data.validated_data)
        return Response(WebhookEndpointWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=WebhookEndpointInputSerializer, responses={200: WebhookEndpointSerializer})
    def partial_update(self, request: Request, pk: str) -> Response:
        endpoint = self.get_object()
        data = WebhookEndpointInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        endpoint = webhooks.endpoint_update(endpoint_id=endpoint.id, **data.validated_data)
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        webhooks.endpoint_delete(endpoint_id=self.get_object().id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: WebhookEndpointWithSecretSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str) -> Response:
        endpoint = webhooks.endpoint_rotate_secret(endpoint_id=self.get_object().id)
        return Response(WebhookEndpointWithSecretSerializer(endpoint).data)

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def ping(self, request: Request, pk: str) -> Response:
        delivery = webhooks.endpoint_ping(endpoint_id=self.get_object().id)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(parameters=[WebhookDeliveryQuerySerializer], responses={200: WebhookDeliverySerializer(many=True)})
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str) -> Response:
        endpoint = self.get_object()  # an unknown endpoint is a 404 whatever the query says
        query = WebhookDeliveryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-created_at", "-id")
        if wanted := query.validated_data.get("status"):
            rows = rows.filter(status=wanted)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)


@extend_schema(tags=["webhooks"])
class WebhookDeliveryViewSet(viewsets.GenericViewSet):
    serializer_class = WebhookDeliverySerializer
    permission_classes = [IsStaff]
    lookup_value_regex = r"\d+"
    queryset = WebhookDelivery.objects.all()

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def redeliver(self, request: Request, pk: str) -> Any:
        delivery = webhooks.delivery_redeliver(delivery_id=self.get_object().id)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
