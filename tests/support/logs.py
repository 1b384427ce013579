"""The request lines a server wrote: one JSON object per line of its
stderr (RequestLogMiddleware writes them there itself, not through
``logging``, so ``caplog`` does not see them)."""

import json
from typing import Any

REQUEST_LOGGER = "stockroom.request"


def request_lines(text: str) -> list[dict[str, Any]]:
    """Every request line in ``text`` (other lines, a library's or a
    traceback, are left out)."""
    lines = []
    for raw in text.splitlines():
        if not raw.startswith("{"):
            continue
        line = json.loads(raw)
        if line.get("logger") == REQUEST_LOGGER:
            lines.append(line)
    return lines
