"""JWTs as an attacker builds them: by hand, with any header, any algorithm
and any key — not through simplejwt, which would refuse to make most of them.

The RS256 signer is textbook RSA with PKCS#1 v1.5 padding on a key made here
(the ``cryptography`` package is not a dependency): enough to make a token
that a server trusting the token's own ``alg`` and ``jwk`` would accept.
"""

import base64
import hashlib
import hmac
import json
import random
from functools import cache
from typing import Any

from rest_framework_simplejwt.settings import api_settings


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload))


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def unsigned(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    return f"{b64url(_json(header))}.{b64url(_json(payload))}.{b64url(signature)}"


def hs(payload: dict[str, Any], key: str | bytes | None = None, alg: str = "HS256", **header: Any) -> str:
    """An HMAC-signed token; with no key, the server's own signing key."""
    if key is None:
        key = api_settings.SIGNING_KEY
    secret = key.encode() if isinstance(key, str) else key
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    signing_input = f"{b64url(_json({'alg': alg, 'typ': 'JWT', **header}))}.{b64url(_json(payload))}"
    return f"{signing_input}.{b64url(hmac.new(secret, signing_input.encode(), digest).digest())}"


# --- RS256 with an attacker's own key pair ------------------------------------------


def _probably_prime(n: int, rng: random.Random) -> bool:
    if n < 2:
        return False
    for p in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        if n % p == 0:
            return n == p
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(24):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int, rng: random.Random) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (1 << (bits - 1)) | 1
        if _probably_prime(candidate, rng):
            return candidate


@cache
def attacker_rsa_key() -> tuple[int, int, int]:
    """(n, e, d) of a 2048-bit RSA key, the same on every run."""
    rng = random.Random(20230605)
    e = 65537
    while True:
        p, q = _prime(1024, rng), _prime(1024, rng)
        phi = (p - 1) * (q - 1)
        if p != q and phi % e:
            return p * q, e, pow(e, -1, phi)


_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def rs256(payload: dict[str, Any], *, embed_public_key: bool = True) -> str:
    """Signed with the attacker's private key; the header carries the matching
    public key (``jwk``), as in CVE-2018-0114, for a server that would trust it."""
    n, e, d = attacker_rsa_key()
    size = (n.bit_length() + 7) // 8
    header: dict[str, Any] = {"alg": "RS256", "typ": "JWT"}
    if embed_public_key:
        header["jwk"] = {
            "kty": "RSA",
            "n": b64url(n.to_bytes(size, "big")),
            "e": b64url(e.to_bytes(3, "big")),
        }
    signing_input = f"{b64url(_json(header))}.{b64url(_json(payload))}".encode()
    digest_info = _SHA256_DIGEST_INFO + hashlib.sha256(signing_input).digest()
    padded = b"\x00\x01" + b"\xff" * (size - len(digest_info) - 3) + b"\x00" + digest_info
    signature = pow(int.from_bytes(padded, "big"), d, n).to_bytes(size, "big")
    assert pow(int.from_bytes(signature, "big"), e, n) == int.from_bytes(padded, "big")  # a valid RS256 signature
    return f"{signing_input.decode()}.{b64url(signature)}"
