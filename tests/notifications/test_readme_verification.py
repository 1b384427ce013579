"""The README's signature check in Python works on what Stockroom signs."""

import re
import time
from pathlib import Path

from notifications.domain.signing import new_secret, signature_header

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_verify():
    section = README.read_text().split("**Verifying a signature.**", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(code, namespace)
    return namespace["verify"]


def test_the_readme_snippet_accepts_a_delivery_signed_with_either_secret_and_nothing_else():
    verify = readme_verify()
    new, old = new_secret(), new_secret()
    body = b'{"id":"evt_1","type":"ping","api_version":"2026-12-07","created_at":"x","data":{"webhook_id":1}}'
    header = signature_header(body, [new, old], int(time.time()))
    assert verify(body, header, new) and verify(body, header, old)
    assert not verify(body, header, new_secret())
    assert not verify(body + b" ", header, new)
    stale = signature_header(body, [new], int(time.time()) - 3600)
    assert not verify(body, stale, new)
    assert not verify(body, "v1=deadbeef", new) and not verify(body, "", new)
