"""Address lists in settings (``TRUSTED_PROXIES``, ``METRICS_ALLOWED_IPS``)."""

import ipaddress
from collections.abc import Iterable


def address_in(address: str, networks: Iterable[str]) -> bool:
    """Whether ``address`` is one of ``networks`` (addresses or CIDR ranges).
    Anything that is not an IP address is in none of them."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in networks)
