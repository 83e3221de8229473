"""Optuna's own storage test suite (``optuna.testing.pytest_storages.StorageTestCase``, from
the installed wheel) run against :class:`dialed.integrations.optuna.DialedStorage`: on an SQLite
file, and on PostgreSQL when ``DIALED_TEST_POSTGRES_URL`` names a server (``.ci/run`` starts
one), as Optuna's ``tests/storages_tests`` run it against its own storages.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

from optuna.testing.pytest_storages import StorageTestCase  # noqa: E402

from dialed.integrations.optuna import DialedStorage  # noqa: E402

POSTGRES_URL = os.environ.get("DIALED_TEST_POSTGRES_URL")


def _fresh_postgres(url: str) -> Iterator[str]:
    """A new, empty PostgreSQL schema on the server, dropped afterwards."""
    sa = pytest.importorskip("sqlalchemy")
    schema = f"optuna_suite_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DialedStorage]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'optuna.db'}"
        found = DialedStorage(url)
        yield found
        found.close()
        return
    if not POSTGRES_URL:
        pytest.skip("set DIALED_TEST_POSTGRES_URL to run Optuna's suite on PostgreSQL")
    for url in _fresh_postgres(POSTGRES_URL):
        found = DialedStorage(url)
        yield found
        found.close()


class TestDialedStorage(StorageTestCase):
    """Every test of Optuna's ``StorageTestCase``, inherited unchanged."""
