"""config.cache on its own: versioned entries, the bump at once and after
commit, and the circuit breaker."""

import pytest
from django.db import transaction

from config import cache as read_cache

pytestmark = pytest.mark.django_db


def test_cached_computes_once_until_its_namespace_changes():
    calls: list[int] = []

    def compute() -> str:
        calls.append(1)
        return f"value {len(calls)}"

    assert read_cache.cached("things", ("a",), 60, compute) == "value 1"
    assert read_cache.cached("things", ("a",), 60, compute) == "value 1"
    assert read_cache.cached("things", ("b",), 60, compute) == "value 2"
    read_cache.changed("others")
    assert read_cache.cached("things", ("a",), 60, compute) == "value 1"
    read_cache.changed("things")
    assert read_cache.cached("things", ("a",), 60, compute) == "value 3"


def test_an_exception_of_compute_propagates_and_nothing_is_cached():
    def fail() -> str:
        raise LookupError("not found")

    with pytest.raises(LookupError):
        read_cache.cached("things", ("a",), 60, fail)
    assert read_cache.cached("things", ("a",), 60, lambda: "found") == "found"


def test_a_reader_between_a_write_and_its_commit_leaves_nothing_stale_behind(django_capture_on_commit_callbacks):
    assert read_cache.cached("things", ("a",), 60, lambda: "before") == "before"
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        read_cache.changed("things")
        # Another process reads after the first bump but before the commit: it
        # still sees the old row and caches it under the new version.
        assert read_cache.cached("things", ("a",), 60, lambda: "before") == "before"
    # The bump after commit hides that entry.
    assert read_cache.cached("things", ("a",), 60, lambda: "after") == "after"


def test_a_rolled_back_write_costs_a_miss_only():
    assert read_cache.cached("things", ("a",), 60, lambda: "value") == "value"
    with pytest.raises(RuntimeError), transaction.atomic():
        read_cache.changed("things")
        raise RuntimeError("rolled back")
    assert read_cache.cached("things", ("a",), 60, lambda: "value again") == "value again"


def test_after_a_failure_the_cache_is_left_alone_for_the_backoff(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(read_cache.time, "monotonic", lambda: clock[0])
    assert read_cache.cached("things", ("a",), 60, lambda: "cached") == "cached"

    read_cache.mark_failed(ConnectionError("simulated"))
    assert not read_cache.available()
    assert read_cache.cached("things", ("a",), 60, lambda: "computed") == "computed"

    clock[0] += read_cache.BACKOFF_SECONDS
    assert read_cache.available()
    assert read_cache.cached("things", ("a",), 60, lambda: "computed") == "cached"


def test_a_change_while_the_cache_is_failing_is_made_up_before_the_cache_is_used_again(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(read_cache.time, "monotonic", lambda: clock[0])
    assert read_cache.cached("things", ("a",), 60, lambda: "before") == "before"

    read_cache.mark_failed(ConnectionError("simulated"))
    read_cache.changed("things")  # cannot reach the cache: remembered

    clock[0] += read_cache.BACKOFF_SECONDS
    assert read_cache.cached("things", ("a",), 60, lambda: "after") == "after"
    assert read_cache.cached("things", ("a",), 60, lambda: "again") == "after"
