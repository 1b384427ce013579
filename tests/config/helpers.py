"""Shapes of the rate-limit and cache contract, shared by the tests in tests/config."""

from collections.abc import Mapping
from email.message import Message
from typing import Any

PRODUCTS = "/api/v1/products/"
ORDERS = "/api/v1/orders/"
REGISTER = "/api/v1/auth/register/"
TOKEN = "/api/v1/auth/token/"
TOP_CUSTOMERS = "/api/v1/reports/top-customers/"
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def product_url(product_id: int) -> str:
    return f"{PRODUCTS}{product_id}/"


def rate_headers(headers: Mapping[str, str] | Message) -> tuple[int, int, int]:
    """(limit, remaining, reset) from a response's headers, which must all be
    there and be whole numbers."""
    missing = [h for h in RATE_HEADERS if h not in headers]
    assert not missing, f"missing {missing} in {dict(headers)}"
    limit, remaining, reset = (int(headers[h]) for h in RATE_HEADERS)
    assert limit >= 1 and 0 <= remaining < limit and reset >= 0, (limit, remaining, reset)
    return limit, remaining, reset


def assert_throttled(status: int, headers: Mapping[str, str] | Message, body: Any, *, limit: int, period: int) -> None:
    """A 429 as the contract describes it: the error envelope with code
    ``throttled``, ``Retry-After`` in whole seconds and the X-RateLimit headers."""
    assert status == 429, (status, body)
    assert body["type"] == "client_error", body
    assert [(e["code"], e["attr"]) for e in body["errors"]] == [("throttled", None)], body
    assert body["errors"][0]["detail"], body
    retry_after = int(headers["Retry-After"])
    assert 1 <= retry_after <= period // limit + 1, retry_after  # one interval frees one request
    assert rate_headers(headers)[:2] == (limit, 0)
    assert 0 < rate_headers(headers)[2] <= period


def token_body(email: str, password: str) -> dict[str, str]:
    return {"email": email, "password": password}
