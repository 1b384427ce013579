"""Argon2 as in production, with test-sized costs: the suite makes hundreds of
accounts, and Django's default Argon2 costs (~0.1–0.5 s a hash) would make it
crawl. The hashes still read ``argon2$argon2id$…``, so the checks that no
response leaks one look for exactly what production stores."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class TestSizedArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 64  # KiB
    parallelism = 1
