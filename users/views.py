"""Thin views: parse → call a service or selector → render."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.views import TokenObtainPairView, TokenViewBase

from config.api.permissions import IsStaff, IsSuperuser
from config.api.schema import AuthErrorResponseSerializer
from config.platform.ratelimit import AnonThrottle, AuthThrottle, UserThrottle
from users import selectors, services
from users.auth import signed_in_user
from users.filters import UserSearchFilter
from users.serializers import (
    LogoutInputSerializer,
    ProfileUpdateInputSerializer,
    RegisterInputSerializer,
    TokenObtainInputSerializer,
    TokenObtainPairVerbatimSerializer,
    TokenPairSerializer,
    TokenRefreshInputSerializer,
    UserSerializer,
)

AUTH_THROTTLES = [AuthThrottle, AnonThrottle, UserThrottle]


class RegisterView(APIView):
    throttle_classes = AUTH_THROTTLES
    permission_classes = [AllowAny]

    @extend_schema(request=RegisterInputSerializer, responses={201: UserSerializer}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = RegisterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(**data.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenView(TokenObtainPairView):
    throttle_classes = AUTH_THROTTLES
    """Sign in: trade an email and password for an access and a refresh token."""

    serializer_class = TokenObtainPairVerbatimSerializer

    @extend_schema(
        request=TokenObtainInputSerializer,
        responses={200: TokenPairSerializer, 401: AuthErrorResponseSerializer},
        tags=["auth"],
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        TokenObtainInputSerializer(data=request.data).is_valid(raise_exception=True)
        return super().post(request, *args, **kwargs)


class TokenRefreshRotateView(TokenViewBase):
    """Trade a refresh token for a new pair; the old refresh token stops working."""

    serializer_class = TokenRefreshInputSerializer

    @extend_schema(
        request=TokenRefreshInputSerializer,
        responses={200: TokenPairSerializer, 401: AuthErrorResponseSerializer},
        tags=["auth"],
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = TokenRefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            pair = services.refresh_token_rotate(refresh=data.validated_data["refresh"])
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        return Response(TokenPairSerializer(pair).data)


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=LogoutInputSerializer, responses={204: None}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = LogoutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.refresh_token_revoke(user=signed_in_user(request), refresh=data.validated_data["refresh"])
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: UserSerializer}, tags=["users"])
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(signed_in_user(request)).data)

    @extend_schema(request=ProfileUpdateInputSerializer, responses={200: UserSerializer}, tags=["users"])
    def patch(self, request: Request) -> Response:
        data = ProfileUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_update_profile(user=signed_in_user(request), **data.validated_data)
        return Response(UserSerializer(user).data)


@extend_schema(tags=["users"])
class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    serializer_class = UserSerializer
    filter_backends = [UserSearchFilter]
    search_fields = ["email", "username", "full_name"]

    def get_queryset(self) -> Any:
        return selectors.user_list()

    def get_permissions(self) -> list[Any]:
        if self.action == "destroy":
            return [IsSuperuser()]
        return [IsStaff()]

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.user_deactivate(user=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
