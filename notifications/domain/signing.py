"""The signature of a webhook delivery: pure, but for ``new_secret``.

``Stockroom-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]`` where each
``v1`` is the HMAC-SHA256 of ``"<t>.<body>"`` keyed with one of the endpoint's
secrets, the whole string (``whsec_`` included) as UTF-8. During a rotation
both the new and the old secret sign, new first, so a receiver that still
knows only the old one goes on verifying.

The timestamp is signed with the body, so a captured delivery replayed later
fails the receiver's tolerance check instead of passing as new.
``verify_signature`` is what a receiver does; the tests use it, and the
README shows it.
"""

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from secrets import token_bytes

SECRET_PREFIX = "whsec_"
SCHEME = "v1"
DEFAULT_TOLERANCE = 300  # seconds either side of the receiver's clock

_SECRET_BYTES = 32
_TIMESTAMP = re.compile(r"[0-9]{1,15}", re.ASCII)  # no sign, no Unicode digits, no 4000-digit int
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{64}", re.ASCII)


def new_secret() -> str:
    """A fresh endpoint secret: ``whsec_`` and 32 random bytes, url-safe base64 without padding (43 characters)."""
    return SECRET_PREFIX + base64.urlsafe_b64encode(token_bytes(_SECRET_BYTES)).rstrip(b"=").decode("ascii")


def _digest(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def signature_header(body: bytes, secrets: Sequence[str], timestamp: int) -> str:
    """The ``Stockroom-Signature`` value for ``body`` sent at ``timestamp``: one ``v1`` per secret, in the given order."""
    if not secrets:
        raise ValueError("a delivery is signed with at least one secret")
    if timestamp < 0:
        raise ValueError("timestamp is unix seconds, not negative")
    t = str(timestamp)
    return ",".join([f"t={t}", *(f"{SCHEME}={_digest(secret, t, body)}" for secret in secrets)])


def verify_signature(body: bytes, header: str, secret: str, *, now: int, tolerance: int = DEFAULT_TOLERANCE) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` at a time within ``tolerance`` seconds of ``now``.

    Any one ``v1`` that matches is enough (the sender may be rotating).
    Elements of another scheme are ignored, so a future ``v2`` alongside
    does not break this receiver. A malformed header is ``False``, never an
    exception: what a stranger posts must not crash the receiver.
    """
    timestamps: list[str] = []
    candidates: list[str] = []
    for element in header.split(","):
        key, sep, value = element.strip().partition("=")
        if not sep:
            return False
        if key == "t":
            timestamps.append(value)
        elif key == SCHEME and _HEX_DIGEST.fullmatch(value):
            candidates.append(value.lower())
    if len(timestamps) != 1 or not _TIMESTAMP.fullmatch(timestamps[0]) or not candidates:
        return False
    t = timestamps[0]
    if abs(now - int(t)) > tolerance:
        return False
    # The digest of the t as sent: that string, not a re-rendered int, is what was signed.
    expected = _digest(secret, t, body).encode("ascii")
    # No early exit: every candidate is compared, each in constant time.
    matches = [hmac.compare_digest(expected, candidate.encode("ascii")) for candidate in candidates]
    return any(matches)
