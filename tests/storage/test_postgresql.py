"""The SQL storage on PostgreSQL: the shared suite, when a server is given.

Set ``DIALED_TEST_POSTGRES_URL`` (``postgresql+psycopg://user:password@host:5432/dbname``) to a
database these tests may fill and empty; without it they are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from dialed.storage import Storage
from dialed.storage._schema import metadata
from dialed.storage._sql import SQLStorage
from dialed.testing.storage import StorageSuite

URL = os.environ.get("DIALED_TEST_POSTGRES_URL")

pytestmark = pytest.mark.skipif(URL is None, reason="DIALED_TEST_POSTGRES_URL is not set")


def _empty(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        metadata.drop_all(engine)
    finally:
        engine.dispose()


class TestPostgreSQLStorage(StorageSuite):
    @pytest.fixture
    def storage(self) -> Iterator[Storage]:
        if URL is None:  # pragma: no cover - skipped above
            pytest.skip("DIALED_TEST_POSTGRES_URL is not set")
        _empty(URL)
        storage = SQLStorage(URL)
        yield storage
        storage.close()
        _empty(URL)
