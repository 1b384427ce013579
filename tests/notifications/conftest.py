from collections.abc import Callable
from typing import Any

import pytest

from tests.support.webhooks import webhook_receiver  # noqa: F401  (a fixture)


@pytest.fixture
def commit(django_capture_on_commit_callbacks) -> Callable[[Callable[[], Any]], Any]:
    """``commit(lambda: api.post(...))``: the request, then what it queued for after its commit."""

    def run(request: Callable[[], Any]) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return request()

    return run
