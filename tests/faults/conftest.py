"""Fixtures of the fault tests: the shop, and Stockroom's processes running
against the services through proxies (tests/faults/stack.py)."""

from collections.abc import Iterator

import pytest

from tests.faults.stack import Shop, Stack, open_shop, running_stack


@pytest.fixture
def shop(transactional_db: None) -> Shop:
    return open_shop()


@pytest.fixture
def stack(shop: Shop, queue: str, tmp_path) -> Iterator[Stack]:
    with running_stack(queue=queue, tmp_path=tmp_path) as running:
        yield running
