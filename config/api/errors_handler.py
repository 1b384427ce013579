"""One envelope for every error from every layer.

drf-standardized-errors does the formatting; this module teaches it about
domain errors (which may carry several problems, each with its own attr) and
provides the Django-level handlers for responses that never reach DRF.
"""

from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from drf_standardized_errors import formatter, handler
from drf_standardized_errors.types import CLIENT_ERROR, SERVER_ERROR, VALIDATION_ERROR, Error
from rest_framework import exceptions
from rest_framework.settings import api_settings
from rest_framework_simplejwt.exceptions import DetailDictMixin

from config.domain_errors import DomainError


class DomainAPIException(exceptions.APIException):
    def __init__(self, error: DomainError) -> None:
        self.status_code = error.status
        self.problems = error.problems
        super().__init__(detail=str(error), code=error.code)


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is larger than this server accepts."
    default_code = "request_too_large"


class ExceptionHandler(handler.ExceptionHandler):
    def convert_known_exceptions(self, exc: Exception) -> Exception:
        if isinstance(exc, REFUSALS) and (throttled := _throttle_refusal(self.context)):
            return throttled
        if isinstance(exc, DomainError):
            return DomainAPIException(exc)
        if isinstance(exc, RequestDataTooBig):
            # A body over DATA_UPLOAD_MAX_MEMORY_SIZE, found when a view reads request.data.
            return RequestTooLarge()
        if isinstance(exc, SuspiciousOperation):
            # e.g. more query parameters than DATA_UPLOAD_MAX_NUMBER_FIELDS: Django's own
            # answer outside DRF is a 400, and so is ours (never a 500).
            return exceptions.ParseError("The request could not be read: it is malformed or has too many fields.")
        if isinstance(exc, ObjectDoesNotExist):
            # A row that vanished mid-request (deleted by someone else) is a 404, not a 500.
            return exceptions.NotFound()
        if isinstance(exc, DetailDictMixin) and isinstance(exc, exceptions.APIException):
            # simplejwt puts a dict ({"detail", "code", "messages"}) in its
            # 401s, which would flatten into one error per key; keep one error.
            return _plain_detail(exc)
        return super().convert_known_exceptions(exc)


REFUSALS = (exceptions.NotAuthenticated, exceptions.AuthenticationFailed, exceptions.PermissionDenied)


def _throttle_refusal(context: Any) -> exceptions.Throttled | None:
    """DRF checks throttles only once authentication and permissions have
    passed, so a refused request (401, 403) would be neither counted nor given
    the X-RateLimit headers: anyone could probe tokens or staff routes without
    limit. Count it here, once (``request.ratelimit`` is set by a throttle that
    already decided), and refuse it with a 429 once its budget is spent."""
    view, request = context.get("view"), context.get("request")
    django_request = getattr(request, "_request", None)
    if view is None or django_request is None or hasattr(django_request, "ratelimit"):
        return None
    waits = [throttle.wait() for throttle in view.get_throttles() if not throttle.allow_request(request, view)]
    return exceptions.Throttled(wait=max(w or 0 for w in waits)) if waits else None


def _plain_detail(exc: exceptions.APIException) -> exceptions.APIException:
    detail = exc.detail if isinstance(exc.detail, dict) else {}
    plain = exceptions.AuthenticationFailed(
        detail=str(detail.get("detail", exc.default_detail)), code=str(detail.get("code", exc.default_code))
    )
    plain.status_code = exc.status_code
    plain.auth_header = getattr(exc, "auth_header", None)  # type: ignore[attr-defined]
    return plain


class ExceptionFormatter(formatter.ExceptionFormatter):
    def get_error_type(self) -> Any:
        if isinstance(self.exc, DomainAPIException) and self.exc.status_code == 400:
            return VALIDATION_ERROR
        return super().get_error_type()

    def get_errors(self) -> list[Error]:
        if isinstance(self.exc, DomainAPIException):
            return [Error(code=p.code, detail=p.detail, attr=p.attr) for p in self.exc.problems]
        return [Error(e.code, e.detail, _object_attr(e.attr)) for e in super().get_errors()]


def _object_attr(attr: str | None) -> str | None:
    """An error about a whole object has the object's path as attr (null at the
    top), never DRF's ``non_field_errors`` key."""
    key = api_settings.NON_FIELD_ERRORS_KEY
    if attr is None or attr == key:
        return None
    return attr.removesuffix(f".{key}")


def envelope(status: int, code: str, detail: str) -> JsonResponse:
    kind = SERVER_ERROR if status >= 500 else CLIENT_ERROR
    body = {"type": kind, "errors": [{"code": code, "detail": detail, "attr": None}]}
    return JsonResponse(body, status=status)


def _is_api(request: HttpRequest) -> bool:
    return not request.path.startswith("/admin/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return envelope(404, "not_found", "Not found.")
    return defaults.page_not_found(request, exception or Http404())


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return envelope(500, "error", "A server error occurred.")
    return defaults.server_error(request)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return envelope(400, "bad_request", "Bad request.")
    return defaults.bad_request(request, exception or SuspiciousOperation())


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return envelope(403, "permission_denied", "You do not have permission to perform this action.")
    return defaults.permission_denied(request, exception or PermissionDenied())
