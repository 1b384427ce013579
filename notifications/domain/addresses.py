"""Where a webhook may be sent: pure rules on URLs and IP addresses.

A webhook URL is typed by staff but fetched by our servers, so without these
rules it would let anyone with staff rights make the servers call what only
they can reach: the cloud metadata service (169.254.169.254), the database,
an admin port on localhost. A URL is checked in two steps: its shape here
(``parse_target``), then every address its host resolves to
(``forbidden``), at registration and again at each delivery, where the
connection goes to the address that was checked (notifications.webhook_http).
"""

import ipaddress
import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from urllib.parse import quote, urlsplit

IPAddress = IPv4Address | IPv6Address

MAX_URL_LENGTH = 2048
SCHEMES = {"http": 80, "https": 443}

# The well-known NAT64 prefix (RFC 6052): a translator forwards 64:ff9b::a00:1 to 10.0.0.1.
_NAT64 = IPv6Network("64:ff9b::/96")
# A host after IDNA: letters, digits, dots, hyphens (underscores exist in real DNS names).
_HOST_NAME = re.compile(r"[a-z0-9_.-]+", re.ASCII)
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")
# Kept as they are in the request target; anything else (non-ASCII, quotes, braces) is percent-encoded.
_TARGET_SAFE = "/?:@!$&'()*+,;=%[]~"


class UrlNotAllowed(ValueError):
    """A URL that webhooks may not be sent to, with the reason for staff."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Target:
    scheme: str  # "http" or "https"
    host: str  # lowercase, IDNA-encoded ASCII; an IPv6 literal without its brackets
    port: int  # the scheme's default when the URL names none
    path_and_query: str  # the request target: "/" at least, the fragment dropped
    host_is_ip: bool

    @property
    def authority(self) -> str:
        """The ``Host`` header: the host as the URL gave it, and the port unless it is the scheme's default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == SCHEMES[self.scheme] else f"{host}:{self.port}"


def _embedded_ipv4(ip: IPv6Address) -> IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return IPv4Address(int(ip) & 0xFFFF_FFFF)
    return None


def forbidden(ip: IPAddress) -> bool:
    """Whether a webhook may not connect to ``ip``: anything not globally routable.

    An IPv6 address that carries an IPv4 one (mapped, 6to4, NAT64) reaches
    that IPv4 address, so it is judged by it: ``::ffff:10.0.0.1`` is private.
    """
    if isinstance(ip, IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            return forbidden(inner)
    # is_global alone covers most of these; the explicit ones make the rule readable and
    # hold even where a Python version's is_global tables differ.
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def _host(raw: str, *, bracketed: bool) -> tuple[str, bool]:
    """The host as it is connected to and sent in ``Host``, and whether it is an IP literal."""
    if "%" in raw:  # a zone (fe80::1%eth0) names one of our own interfaces; a percent-escape is no host
        raise UrlNotAllowed("the host is not a valid name")
    if bracketed:
        try:
            return str(IPv6Address(raw)), True
        except ValueError:
            raise UrlNotAllowed("the host is not a valid IPv6 address") from None
    try:
        return str(ipaddress.ip_address(raw)), True
    except ValueError:
        pass
    try:
        name = raw.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise UrlNotAllowed("the host is not a valid name") from None
    if not _HOST_NAME.fullmatch(name):
        raise UrlNotAllowed("the host is not a valid name")
    return name, False


def parse_target(url: str) -> Target:
    """The parts of a webhook URL a delivery needs, or ``UrlNotAllowed`` with the reason."""
    if len(url) > MAX_URL_LENGTH:
        raise UrlNotAllowed(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if _CONTROL_OR_SPACE.search(url):
        raise UrlNotAllowed("the URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlNotAllowed(f"not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UrlNotAllowed("the URL must start with http:// or https://")
    if "@" in parts.netloc:
        raise UrlNotAllowed("the URL must not contain a user name or password")
    if not parts.hostname:
        raise UrlNotAllowed("the URL has no host")
    if port is not None and not 1 <= port <= 65535:
        raise UrlNotAllowed("the port must be between 1 and 65535")
    host, host_is_ip = _host(parts.hostname, bracketed="[" in parts.netloc)
    path_and_query = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(
        scheme=scheme,
        host=host,
        port=port or SCHEMES[scheme],
        path_and_query=quote(path_and_query, safe=_TARGET_SAFE),
        host_is_ip=host_is_ip,
    )
