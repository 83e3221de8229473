"""``Storage.import_trials``: recorded trials written as they are, in one transaction, on every
storage (memory, SQLite, PostgreSQL when ``DIALED_TEST_POSTGRES_URL`` is set)."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialed._util import derive_seed
from dialed.errors import DuplicateStudyError, SpaceError, StorageError
from dialed.storage import MemoryStorage, Storage, open_storage
from dialed.trial import TrialRecord, TrialState


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "memory":
        yield MemoryStorage()
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'd.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    store = open_storage(url)
    yield store
    store.close()


def _record(state: TrialState, **kw: object) -> TrialRecord:
    base: dict[str, object] = {"trial_id": 0, "study_id": 0, "number": 0, "state": state,
                               "seed": 0}
    base.update(kw)
    return TrialRecord(**base)  # type: ignore[arg-type]


SPACE = {"x": {"type": "float", "low": 0.0, "high": 1.0}}


def test_trials_keep_state_times_values_and_attrs(storage: Storage) -> None:
    trials = [
        _record(TrialState.COMPLETE, params={"x": 0.25}, metrics={"loss": 0.5},
                intermediate={0: 1.0, 3: math.nan}, started_at=100.0, finished_at=160.5,
                created_at=99.0, wall_seconds=60.5, user_attrs={"u": [1, 2]},
                system_attrs={"optuna": {"trial_id": 7}}),
        _record(TrialState.PRUNED, params={"x": 0.75}, intermediate={0: 2.0},
                started_at=200.0, finished_at=201.0),
        _record(TrialState.FAILED, params={"x": 0.5}, error="boom\x00", started_at=300.0,
                finished_at=300.5),
        _record(TrialState.WAITING, params={"x": 0.1}),
    ]
    study = storage.import_trials("imp", trials, space=SPACE, attrs={"imported_from": ["a"]},
                                  create={"metrics": {"loss": "minimize"}, "seed": 5})
    assert study.attrs["imported_from"] == ["a"] and study.seed == 5
    got = storage.get_trials(study.study_id)
    assert [t.number for t in got] == [0, 1, 2, 3]
    assert [t.seed for t in got] == [derive_seed(5, i) for i in range(4)]
    assert [t.state for t in got] == [t.state for t in trials]
    first = got[0]
    assert (first.started_at, first.finished_at, first.created_at) == (100.0, 160.5, 99.0)
    assert first.metrics == {"loss": 0.5} and first.user_attrs == {"u": [1, 2]}
    assert first.intermediate[0] == 1.0 and math.isnan(first.intermediate[3])
    assert got[2].error == "boom\\x00"
    assert storage.get_space(study.study_id) == SPACE
    assert storage.best_trial(study.study_id, "loss", "minimize").number == 0  # type: ignore[union-attr]
    # the waiting trial is claimed like an enqueued one
    claimed = storage.claim_trial(study.study_id, worker="w")
    assert claimed is not None and claimed.number == 3 and dict(claimed.params) == {"x": 0.1}
    # more trials go after the last one
    storage.import_trials("imp", [_record(TrialState.COMPLETE, metrics={"loss": 0.1},
                                          params={"x": 0.9})], space=SPACE)
    assert storage.get_trials(study.study_id)[-1].number == 4


def test_a_failed_import_writes_nothing(storage: Storage) -> None:
    ok = [_record(TrialState.COMPLETE, params={"x": 0.5}, metrics={"loss": 1.0})]
    storage.import_trials("imp", ok, space=SPACE,
                          create={"metrics": {"loss": "minimize"}, "seed": 1})
    with pytest.raises(DuplicateStudyError):
        storage.import_trials("imp", ok, space=SPACE,
                              create={"metrics": {"loss": "minimize"}, "seed": 1})
    with pytest.raises(SpaceError):
        storage.import_trials("imp", ok * 3,
                              space={"x": {"type": "int", "low": 0, "high": 3}})
    with pytest.raises(StorageError, match="only complete, pruned, failed or waiting"):
        storage.import_trials("imp", [_record(TrialState.RUNNING)], space={})
    with pytest.raises(StorageError, match="finite"):
        storage.import_trials("imp", [_record(TrialState.COMPLETE, metrics={"loss": math.inf})],
                              space={})
    sid = storage.get_study("imp").study_id
    assert storage.count_trials(sid) == 1 and storage.get_space(sid) == SPACE
    assert [s.name for s in storage.list_studies()] == ["imp"]


def test_import_dialed_and_its_interop_modules_do_not_load_optuna() -> None:
    code = ("import sys, dialed, dialed.interop, dialed.compat.optuna, dialed.cli\n"
            "print('optuna' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "False"
