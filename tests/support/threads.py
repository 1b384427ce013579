"""Real concurrency for tests: threads released together."""

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def run_together(target: Callable[[], T], threads: int, *, timeout: float = 60) -> list[T]:
    """Call ``target`` in ``threads`` threads, released at once by a barrier,
    each closing its own database connection when done; return what the
    calls returned (in the order they finished). Fails if a thread is still
    running after ``timeout`` seconds; re-raises the first error a call raised."""
    barrier = threading.Barrier(threads)
    results: list[T] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            value = target()
            with lock:
                results.append(value)
        except BaseException as exc:  # reported to the test below
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    started = [threading.Thread(target=run, daemon=True) for _ in range(threads)]
    for thread in started:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in started:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in started), f"threads still running after {timeout} s"
    if errors:
        raise errors[0]
    return results
