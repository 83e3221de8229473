"""What the dashboard reads: a storage it can only read, and each study's trials kept live.

:class:`ReadOnlyStorage` passes the reads of a :class:`~dialed.storage.Storage` through and
refuses every write, so no page or API route can change a study. An SQLite file is checked
before it is opened (through SQLite's own read-only mode): a missing file or one without
dialed's tables is refused instead of being created. Reads on SQLite run in WAL mode and take
no write lock, so a running study is never held up by the dashboard.

:class:`LiveTrials` keeps one study's trials in memory and refreshes them with three small
reads: the trials created since the last refresh (``get_trials(min_trial_id=...)``), the ones
still running or waiting (an indexed read by state), and each trial that was running before and
is not any more (``get_trial``). A study of 100,000 finished trials is read once; after that
a refresh costs a few milliseconds. Every refresh that changes something bumps ``version`` and
remembers which trials changed, so a page can ask what changed since the version it shows.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from dialed.errors import StorageError
from dialed.storage import Storage, StudyRecord, StudySummary, TrialsSince, open_storage, redact_url
from dialed.trial import TrialRecord, TrialState

__all__ = ["LiveTrials", "ReadOnlyStorage", "open_read_only"]

_UNFINISHED = (TrialState.RUNNING, TrialState.WAITING)
#: How many refreshes' changes a study remembers for ``changes_since``.
_CHANGELOG = 256
#: Above this many trials that stopped running since the last refresh, read them as a range.
_MAX_SINGLE_READS = 64


class ReadOnlyStorage(Storage):
    """A storage that reads through to another and refuses every write.

    The dashboard holds only this, so no route can change a study; and library code that
    takes a storage (``load_study``, the workflow's summary) can be given it safely: a write
    it attempts raises :class:`~dialed.errors.StorageError` instead of happening.
    ``shown_url`` is the URL with any password hidden.
    """

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self.url = storage.url
        self.shown_url = redact_url(storage.url) if storage.url else "memory (this process)"

    def __repr__(self) -> str:
        return f"ReadOnlyStorage({self.shown_url!r})"

    # -- reads -------------------------------------------------------------------------------
    def get_study(self, name: str) -> StudyRecord:
        return self._storage.get_study(name)

    def list_studies(self) -> list[StudySummary]:
        return self._storage.list_studies()

    def get_study_attrs(self, study_id: int) -> dict[str, Any]:
        return self._storage.get_study_attrs(study_id)

    def get_space(self, study_id: int) -> dict[str, dict[str, Any]]:
        return self._storage.get_space(study_id)

    def get_trial(self, trial_id: int) -> TrialRecord:
        return self._storage.get_trial(trial_id)

    def get_trial_by_number(self, study_id: int, number: int) -> TrialRecord:
        return self._storage.get_trial_by_number(study_id, number)

    def get_trials(
        self,
        study_id: int,
        *,
        states: Iterable[TrialState] | None = None,
        min_trial_id: int | None = None,
    ) -> list[TrialRecord]:
        return self._storage.get_trials(study_id, states=states, min_trial_id=min_trial_id)

    def trials_since(self, study_id: int, trial_id: int | None) -> TrialsSince:
        return self._storage.trials_since(study_id, trial_id)

    def count_trials(self, study_id: int, states: Iterable[TrialState] | None = None) -> int:
        return self._storage.count_trials(study_id, states)

    def best_trial(self, study_id: int, metric: str, direction: str) -> TrialRecord | None:
        return self._storage.best_trial(study_id, metric, direction)

    def close(self) -> None:
        self._storage.close()

    # -- writes: refused ---------------------------------------------------------------------
    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise StorageError(f"{self.shown_url} is open read-only here (the dashboard never "
                           "writes to a study)")

    def create_study(self, name: str, *, metrics: Mapping[str, str], seed: int,
                     attrs: Mapping[str, Any] | None = None) -> StudyRecord:
        self._refuse()

    def delete_study(self, name: str) -> None:
        self._refuse()

    def set_study_attr(self, study_id: int, key: str, value: Any) -> None:
        self._refuse()

    def set_study_attr_if_absent(self, study_id: int, key: str, value: Any) -> bool:
        self._refuse()

    def register_params(self, study_id: int, distributions: Mapping[str, Mapping[str, Any]]
                        ) -> dict[str, dict[str, Any]]:
        self._refuse()

    def create_trial(self, study_id: int, *, state: TrialState = TrialState.RUNNING,
                     params: Mapping[str, Any] | None = None, worker: str | None = None,
                     environment: Mapping[str, Any] | None = None,
                     system_attrs: Mapping[str, Any] | None = None) -> TrialRecord:
        self._refuse()

    def enqueue_trials(self, study_id: int, params_list: Sequence[Mapping[str, Any]], *,
                       once_key: str | None = None,
                       system_attrs: Mapping[str, Any] | None = None) -> int:
        self._refuse()

    def claim_trial(self, study_id: int, *, worker: str,
                    environment: Mapping[str, Any] | None = None,
                    system_attrs: Mapping[str, Any] | None = None) -> TrialRecord | None:
        self._refuse()

    def update_trial(self, trial_id: int, *, params: Mapping[str, Any] | None = None,
                     user_attrs: Mapping[str, Any] | None = None,
                     system_attrs: Mapping[str, Any] | None = None) -> None:
        self._refuse()

    def report(self, trial_id: int, step: int, value: float) -> None:
        self._refuse()

    def heartbeat(self, trial_id: int) -> None:
        self._refuse()

    def finish_trial(self, trial_id: int, state: TrialState, *,
                     metrics: Mapping[str, float] | None = None,
                     params: Mapping[str, Any] | None = None, error: str | None = None,
                     wall_seconds: float | None = None, cpu_seconds: float | None = None,
                     peak_memory_mb: float | None = None,
                     user_attrs: Mapping[str, Any] | None = None,
                     system_attrs: Mapping[str, Any] | None = None) -> TrialRecord:
        self._refuse()

    def fail_stale_trial(self, trial_id: int, *, reason: str, retry: bool,
                         max_retries: int) -> TrialRecord | None:
        self._refuse()


def open_read_only(storage: str | Storage | None) -> ReadOnlyStorage:
    """Open a storage URL (or wrap a storage) for reading only; StorageError if there is none.

    An SQLite URL must name an existing file that holds dialed's tables: nothing is created,
    and the file is opened read-only (on a read-only file system too).
    """
    if isinstance(storage, ReadOnlyStorage):
        return storage
    if isinstance(storage, Storage):
        return ReadOnlyStorage(storage)
    if storage is None or storage == "memory":
        raise StorageError(
            "the dashboard reads a study database: give --storage sqlite:///path/to/file.db "
            "or a postgresql+psycopg:// URL (an in-memory storage lives in its own process)"
        )
    path = _sqlite_path(storage)
    if path is not None:
        _check_sqlite_file(storage, path)
    return ReadOnlyStorage(open_storage(storage, read_only=True))


def _sqlite_path(url: str) -> Path | None:
    """The database file of an SQLite URL (None for other URLs)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None
    if not parsed.drivername.startswith("sqlite") or not parsed.database:
        return None
    if parsed.database == ":memory:" or parsed.database.startswith("file:"):
        return None
    return Path(parsed.database)


def _check_sqlite_file(url: str, path: Path) -> None:
    if not path.is_file():
        raise StorageError(
            f"no study database at {path} ({redact_url(url)}): the dashboard only reads, it "
            "creates nothing; run a study first or give the right --storage"
        )


class LiveTrials:
    """One study's trials in memory, refreshed incrementally (see the module docstring).

    ``min_interval`` seconds must pass between two reads of the storage: however many pages
    poll, the storage sees at most one refresh per interval per study. Thread-safe.
    """

    def __init__(self, storage: ReadOnlyStorage, study_id: int, *,
                 min_interval: float = 0.5) -> None:
        self._storage = storage
        self.study_id = study_id
        self._min_interval = min_interval
        self._lock = threading.Lock()
        self._by_number: dict[int, TrialRecord] = {}
        self._ordered: list[TrialRecord] | None = []
        self._unfinished: dict[int, TrialRecord] = {}  # trial_id -> record
        self._max_id: int | None = None  # the highest trial id read as a "new trial"
        self._checked = -float("inf")
        self.version = 0
        self._log: deque[tuple[int, frozenset[int]]] = deque(maxlen=_CHANGELOG)
        self.load_seconds: float | None = None  # how long the first read took

    def refresh(self, *, force: bool = False) -> int:
        """Read what changed (unless read less than ``min_interval`` ago); the version."""
        with self._lock:
            clock = time.monotonic()
            if not force and clock - self._checked < self._min_interval:
                return self.version
            first = self._max_id is None
            changed = self._read()
            self._checked = time.monotonic()
            if first:
                self.load_seconds = self._checked - clock
            if changed or first:
                self.version += 1
                self._log.append((self.version, frozenset(changed)))
                self._ordered = None
            return self.version

    def _read(self) -> set[int]:
        st, sid = self._storage, self.study_id
        new = st.get_trials(sid, min_trial_id=None if self._max_id is None else self._max_id + 1)
        fresh = {t.trial_id: t for t in new}
        if new:
            # only the range read moves the mark: a trial created while the reads below run
            # is read by the next refresh, however its id compares with theirs
            self._max_id = max(fresh)
        gone = []
        if self._unfinished:
            live = {t.trial_id: t for t in st.get_trials(sid, states=_UNFINISHED)}
            for trial_id in self._unfinished:
                if trial_id in fresh:
                    continue
                if trial_id in live:
                    fresh[trial_id] = live[trial_id]
                else:
                    gone.append(trial_id)  # finished since the last refresh
        if len(gone) > _MAX_SINGLE_READS:
            for rec in st.get_trials(sid, min_trial_id=min(gone)):
                fresh.setdefault(rec.trial_id, rec)
        else:
            for trial_id in gone:
                fresh[trial_id] = st.get_trial(trial_id)
        changed: set[int] = set()
        for rec in fresh.values():
            old = self._by_number.get(rec.number)
            if old is not None and old == rec:
                continue
            self._by_number[rec.number] = rec
            changed.add(rec.number)
            if rec.state.finished:
                self._unfinished.pop(rec.trial_id, None)
            else:
                self._unfinished[rec.trial_id] = rec
        return changed

    @property
    def records(self) -> list[TrialRecord]:
        """Every trial known, by number."""
        with self._lock:
            if self._ordered is None:
                self._ordered = [self._by_number[n] for n in sorted(self._by_number)]
            return self._ordered

    def get(self, number: int) -> TrialRecord | None:
        with self._lock:
            return self._by_number.get(number)

    def changes_since(self, version: int) -> list[TrialRecord] | None:
        """The trials changed after ``version``, by number; None when that is too long ago."""
        with self._lock:
            if version >= self.version:
                return []
            if not self._log or self._log[0][0] > version + 1:
                return None
            numbers: set[int] = set()
            for v, changed in self._log:
                if v > version:
                    numbers |= changed
            return [self._by_number[n] for n in sorted(numbers)]
