"""config.platform.read_cache on its own: versioned entries, the bump at commit (in one
round trip for every namespace a transaction changed), and the circuit
breaker. The transactions here commit for real."""

import threading

import pytest
from django.db import transaction

from config.platform import breaker, read_cache

pytestmark = pytest.mark.django_db(transaction=True)


def in_another_thread(function):
    """What another process sees: a thread has its own connection and its
    own open transaction, none."""
    result = []
    thread = threading.Thread(target=lambda: result.append(function()))
    thread.start()
    thread.join()
    return result[0]


def test_cached_computes_once_until_its_namespace_changes() -> None:
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


def test_a_reader_between_a_write_and_its_commit_leaves_nothing_stale_behind():
    assert read_cache.cached("things", ("a",), 60, lambda: "before") == "before"
    with transaction.atomic():
        read_cache.changed("things")
        # The writing transaction reads past the cache: it sees its own write.
        assert read_cache.cached("things", ("a",), 60, lambda: "written") == "written"
        # Another process, before the commit, still sees the old data and may
        # cache it: that entry is under the version the commit leaves behind.
        assert in_another_thread(lambda: read_cache.cached("things", ("b",), 60, lambda: "before")) == "before"
        assert in_another_thread(lambda: read_cache.cached("things", ("a",), 60, lambda: "unused")) == "before"
    assert in_another_thread(lambda: read_cache.cached("things", ("a",), 60, lambda: "after")) == "after"
    assert read_cache.cached("things", ("b",), 60, lambda: "after") == "after"


def test_one_commit_bumps_every_namespace_it_changed_once():
    before = {name: read_cache.version(name) for name in ("things", "others", "untouched")}
    with transaction.atomic():
        read_cache.changed("things")
        read_cache.changed("others")
        read_cache.changed("things")
        assert {name: read_cache.version(name) for name in before} == before
    assert {name: read_cache.version(name) - before[name] for name in before} == {
        "things": 1,
        "others": 1,
        "untouched": 0,
    }


def test_a_rolled_back_write_changes_nothing():
    assert read_cache.cached("things", ("a",), 60, lambda: "value") == "value"
    with pytest.raises(RuntimeError), transaction.atomic():
        read_cache.changed("things")
        raise RuntimeError("rolled back")
    assert read_cache.cached("things", ("a",), 60, lambda: "recomputed") == "value"


def test_after_a_failure_the_cache_is_left_alone_for_the_backoff(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(breaker.time, "monotonic", lambda: clock[0])
    assert read_cache.cached("things", ("a",), 60, lambda: "cached") == "cached"

    read_cache.mark_failed(ConnectionError("simulated"))
    assert not read_cache.available()
    assert read_cache.cached("things", ("a",), 60, lambda: "computed") == "computed"

    clock[0] += breaker.BACKOFF_SECONDS
    assert read_cache.available()
    assert read_cache.cached("things", ("a",), 60, lambda: "computed") == "cached"


def test_a_change_while_the_cache_is_failing_is_made_up_before_the_cache_is_used_again(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(breaker.time, "monotonic", lambda: clock[0])
    assert read_cache.cached("things", ("a",), 60, lambda: "before") == "before"

    read_cache.mark_failed(ConnectionError("simulated"))
    read_cache.changed("things")  # cannot reach the cache: remembered

    clock[0] += breaker.BACKOFF_SECONDS
    assert read_cache.cached("things", ("a",), 60, lambda: "after") == "after"
    assert read_cache.cached("things", ("a",), 60, lambda: "again") == "after"
