"""A 1,000-trial Optuna study in an SQLite RDB storage, imported, compared, exported back (to a
journal file: Optuna's RDB writes a trial in ~25 ms, so one RDB write of the study is enough)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
from optuna.storages.journal import JournalFileBackend, JournalStorage

from tests.interop.conftest import check_roundtrip


def test_sqlite_round_trip(tmp_path: Path, mo_trials: list[Any], so_trials: list[Any]) -> None:
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    back = tmp_path / "back.log"
    check_roundtrip(url, optuna.storages.RDBStorage(url), f"sqlite:///{tmp_path / 'dialed.db'}",
                    str(back), JournalStorage(JournalFileBackend(str(back))),
                    mo_trials, so_trials)
