"""The in-memory storage passes the shared storage suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dialed.storage import MemoryStorage, Storage
from dialed.testing.storage import StorageSuite


class TestMemoryStorage(StorageSuite):
    @pytest.fixture
    def storage(self) -> Iterator[Storage]:
        storage = MemoryStorage()
        yield storage
        storage.close()
