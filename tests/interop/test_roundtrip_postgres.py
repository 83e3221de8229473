"""A 1,000-trial Optuna study in PostgreSQL (Optuna's RDB storage), imported into dialed's
storage in the same database, compared, and exported back (to a journal file). Runs when
``DIALED_TEST_POSTGRES_URL`` is set (CI sets it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
from optuna.storages.journal import JournalFileBackend, JournalStorage

from tests.interop.conftest import check_roundtrip


def test_postgresql_round_trip(postgres_url: str, tmp_path: Path, mo_trials: list[Any],
                               so_trials: list[Any]) -> None:
    storage = optuna.storages.RDBStorage(postgres_url)
    back = tmp_path / "back.log"  # Optuna's RDB writes a trial in ~10-25 ms: write it once
    try:
        check_roundtrip(postgres_url, storage, postgres_url, str(back),
                        JournalStorage(JournalFileBackend(str(back))), mo_trials, so_trials)
    finally:
        storage.engine.dispose()
