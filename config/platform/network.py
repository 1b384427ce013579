"""Address lists in settings (``TRUSTED_PROXIES``, ``METRICS_ALLOWED_IPS``)."""

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=32)
def _networks(networks: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(net, strict=False) for net in networks)


def address_in(address: str, networks: Iterable[str]) -> bool:
    """Whether ``address`` is one of ``networks`` (addresses or CIDR ranges).
    Anything that is not an IP address is in none of them. (Asked on every
    rate-limited request: the list is parsed once, and an empty one costs
    nothing.)"""
    parsed = _networks(tuple(networks))
    if not parsed:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in parsed)
