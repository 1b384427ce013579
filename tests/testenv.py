"""Loaded by pytest before Django (``-p tests.testenv`` in pyproject.toml).

Tests run with DEBUG off, like production, so they need a SECRET_KEY; this one
exists only for tests.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
# Tests speak plain HTTP to the test client and to servers they start, and
# render admin pages without running collectstatic first.
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("STATIC_MANIFEST", "false")
