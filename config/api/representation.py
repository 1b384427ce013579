"""Values as the API writes them, for serializers that render rows directly.

Each function gives exactly what the matching DRF field writes (tests compare
them), without the per-field machinery: money as a string with its cents,
datetimes in ISO 8601 UTC with ``Z``.
"""

from datetime import UTC, datetime
from decimal import Decimal

CENTS = Decimal("0.01")


def money(value: Decimal) -> str:
    """``DecimalField(decimal_places=2)``: ``Decimal("12.5")`` → ``"12.50"``."""
    return f"{Decimal(value).quantize(CENTS):f}"


def timestamp(value: datetime) -> str:
    """``DateTimeField()`` with ``TIME_ZONE = "UTC"``: ``2026-12-01T09:30:00.123456Z``."""
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
