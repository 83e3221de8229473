"""A 1,000-trial Optuna study in a JournalStorage file, imported, compared and exported back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from optuna.storages.journal import JournalFileBackend, JournalStorage

from tests.interop.conftest import check_roundtrip


def test_journal_file_round_trip(tmp_path: Path, mo_trials: list[Any],
                                 so_trials: list[Any]) -> None:
    log, back = tmp_path / "optuna.log", tmp_path / "back.log"
    check_roundtrip(str(log), JournalStorage(JournalFileBackend(str(log))),
                    f"sqlite:///{tmp_path / 'dialed.db'}", f"journal://{back}",
                    JournalStorage(JournalFileBackend(str(back))), mo_trials, so_trials)
