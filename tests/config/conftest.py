"""Each test here starts, and leaves, with the read cache's circuit breaker
closed: a test that makes the cache fail must not make the next one skip it."""

import pytest

from config.platform import read_cache


@pytest.fixture(autouse=True)
def cache_breaker_closed():
    read_cache.reset()
    yield
    read_cache.reset()
