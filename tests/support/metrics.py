"""What /metrics says, for the tests that count."""

import re

from django.test import Client


def metric(name: str, **labels: str) -> float:
    """The value of one series on /metrics (0 when it is not there yet)."""
    body = Client().get("/metrics").content.decode()
    selector = "{" + ",".join(f'{key}="{value}"' for key, value in labels.items()) + "}" if labels else ""
    found = re.search(rf"^{re.escape(name + selector)} (\S+)$", body, re.MULTILINE)
    return float(found.group(1)) if found else 0.0
