"""The signature of webhook deliveries: pure, no database."""

import hashlib
import hmac
import re

import pytest

from notifications.domain.signing import SECRET_PREFIX, new_secret, signature_header, verify_signature

BODY = b'{"id": "evt_1", "type": "order.placed", "data": {"total": "12.50", "name": "caf\xc3\xa9"}}'
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "whsec_old0000000000000000000000000000000000000"
NOW = 1_767_225_600


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def test_new_secret_is_the_prefix_and_43_url_safe_characters():
    secret = new_secret()
    assert secret.startswith(SECRET_PREFIX)
    assert re.fullmatch(r"whsec_[A-Za-z0-9_-]{43}", secret)
    assert new_secret() != secret


def test_signature_header_signs_timestamp_dot_body_with_the_whole_secret():
    expected = hmac_hex(SECRET, f"{NOW}.".encode() + BODY)
    assert signature_header(BODY, [SECRET], NOW) == f"t={NOW},v1={expected}"


def test_signature_header_known_answer():
    # Computed outside Python: printf '1700000000.{}' | openssl dgst -sha256 -hmac whsec_test
    digest = "35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
    assert signature_header(b"{}", ["whsec_test"], 1_700_000_000) == f"t=1700000000,v1={digest}"


def test_signature_header_has_one_v1_per_secret_new_first():
    header = signature_header(BODY, [SECRET, OLD_SECRET], NOW)
    message = f"{NOW}.".encode() + BODY
    assert header == f"t={NOW},v1={hmac_hex(SECRET, message)},v1={hmac_hex(OLD_SECRET, message)}"


def test_signature_header_refuses_no_secret():
    with pytest.raises(ValueError):
        signature_header(BODY, [], NOW)


@pytest.mark.parametrize("secret", [SECRET, OLD_SECRET])
def test_verify_accepts_each_secret_of_a_rotation(secret):
    header = signature_header(BODY, [SECRET, OLD_SECRET], NOW)
    assert verify_signature(BODY, header, secret, now=NOW + 10)


def test_verify_rejects_a_tampered_body():
    header = signature_header(BODY, [SECRET], NOW)
    assert not verify_signature(BODY.replace(b"12.50", b"0.01"), header, SECRET, now=NOW)


def test_verify_rejects_a_wrong_secret():
    header = signature_header(BODY, [SECRET], NOW)
    assert not verify_signature(BODY, header, SECRET + "x", now=NOW)


def test_verify_rejects_the_secret_without_its_prefix():
    header = signature_header(BODY, [SECRET], NOW)
    assert not verify_signature(BODY, header, SECRET.removeprefix(SECRET_PREFIX), now=NOW)


@pytest.mark.parametrize(("skew", "accepted"), [(300, True), (-300, True), (301, False), (-301, False)])
def test_verify_rejects_a_timestamp_outside_the_tolerance(skew, accepted):
    header = signature_header(BODY, [SECRET], NOW)
    assert verify_signature(BODY, header, SECRET, now=NOW + skew) is accepted


def test_verify_rejects_a_replayed_signature_with_a_fresh_timestamp():
    old = signature_header(BODY, [SECRET], NOW - 3600)
    replayed = re.sub(r"t=\d+", f"t={NOW}", old)
    assert not verify_signature(BODY, replayed, SECRET, now=NOW)


def test_verify_ignores_other_schemes_beside_v1():
    header = signature_header(BODY, [SECRET], NOW) + ",v0=deadbeef,v2=" + "0" * 64
    assert verify_signature(BODY, header, SECRET, now=NOW)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        f"v1={'0' * 64}",
        f"t={NOW}",
        f"t=,v1={'0' * 64}",
        f"t=-{NOW},v1={'0' * 64}",
        f"t=１２３,v1={'0' * 64}",
        f"t={'9' * 5000},v1={'0' * 64}",
        f"t={NOW},t={NOW},v1={'0' * 64}",
        f"t={NOW},v1=zz",
        f"t={NOW},v1=é{'0' * 63}",
        f"t={NOW},,v1={'0' * 64}",
        "t=1.5,v1=abc",
        "\x00\udcff",
    ],
)
def test_verify_rejects_a_malformed_header_without_raising(header):
    assert verify_signature(BODY, header, SECRET, now=NOW) is False


def test_verify_rejects_a_duplicated_timestamp_even_when_one_is_valid():
    good = signature_header(BODY, [SECRET], NOW)
    assert not verify_signature(BODY, f"t=1,{good}", SECRET, now=NOW)
