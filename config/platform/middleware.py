"""Django's session, auth and messages middleware, for the admin only.

The admin needs all three; the API needs none of them (it authenticates with
JWTs, not cookies). Each class below is Django's own for every other path —
so the admin's system checks and behaviour are unchanged — and steps aside
for paths under ``/api/``, which then pay for none of them. (CSRF stays
Django's own middleware, as ``check --deploy`` wants it; API views are
exempt from it anyway.)
"""

from typing import Any

from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpRequest, HttpResponse

API_PREFIX = "/api/"


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


class _NotForTheAPI:
    get_response: Any

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api(request):
            return self.get_response(request)
        return super().__call__(request)  # type: ignore[misc]


class SessionMiddleware(_NotForTheAPI, DjangoSessionMiddleware):
    pass


class AuthenticationMiddleware(_NotForTheAPI, DjangoAuthenticationMiddleware):
    pass


class MessageMiddleware(_NotForTheAPI, DjangoMessageMiddleware):
    pass
