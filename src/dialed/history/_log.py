"""The engine's log of one study's trials: the history, kept up to date incrementally.

Each :meth:`HistoryLog.refresh` asks the storage for what changed in one read
(:meth:`~dialed.storage.Storage.trials_since`): the trials at or above the *frontier* (the
lowest id of a waiting or running trial) that are not waiting, and the new frontier. Every
trial below the frontier is finished and held here; finished trials never change. So a refresh
reads the running trials and those that finished or started since, not the whole study
(Optuna reads every trial per suggestion: optuna#1170), and a trial enqueued long ago is read
again once it runs and finishes, whatever happened in between.

A finished trial's rows (:mod:`._rows`) are derived once, the first time a sampler or a pruner
reads rows after the trial was read (a sampler that reads none, random search, never pays for
them), into columns that grow at their end (trials finish roughly in order) and are rebuilt
when one finishes out of order; a snapshot (:class:`~._history.History`) takes views of them,
so the history a sampler sees is the finished trials' rows as they were, plus its running
trials'.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence

import numpy as np

from dialed.history._history import History
from dialed.history._memo import Memo
from dialed.history._rows import ConfigKey, Rows, config_key, derive
from dialed.metrics import MetricSet
from dialed.space import Space
from dialed.storage import Storage
from dialed.trial import TrialRecord, TrialState

__all__ = ["HistoryLog"]


class HistoryLog:
    """The finished trials of one study as read so far, with their rows; see the module."""

    def __init__(self, storage: Storage, study_id: int, metrics: MetricSet) -> None:
        self._storage = storage
        self._study_id = study_id
        self._metrics = metrics
        self._lock = threading.RLock()
        self._frontier: int | None = None  # every trial below it is finished and held here
        self._space = Space()
        self._space_dict: dict[str, dict[str, object]] = {}
        self._finished: list[TrialRecord] = []  # by number
        self._numbers: list[int] = []
        self._ids: set[int] = set()
        self._columns = _Columns()  # the rows of _finished but for _pending, in its order
        self._pending: list[TrialRecord] = []  # held, rows not derived yet
        # bumped whenever the columns stop being a prefix of what they were (a trial held out
        # of order, the space grown): a snapshot then derives its rows from its own records
        self._generation = 0
        self._trials: tuple[TrialRecord, ...] = ()  # _finished as a tuple, made when needed
        # the configurations of the finished trials, each with the count of finished trials
        # held when it was first held: a snapshot of n trials has seen those below n
        self._keys: dict[ConfigKey, int] = {}
        self._key_rows: list[ConfigKey] = []
        self._running: tuple[TrialRecord, ...] = ()
        #: Derived model state for the samplers, shared by every snapshot of this log.
        self.memo = Memo()

    @property
    def space(self) -> Space:
        return self._space

    def set_space(self, space: dict[str, dict[str, object]]) -> None:
        """Adopt the study's space as stored (it only grows)."""
        with self._lock:
            if space == self._space_dict:
                return
            self._derive_pending()
            old = self._space
            self._space_dict = dict(space)
            self._space = Space(space)
            self._columns.respace(old, self._space, self._finished)
            self._generation += 1

    def refresh_space(self) -> Space:
        self.set_space(self._storage.get_space(self._study_id))
        return self._space

    def refresh(self, exclude_trial_id: int | None = None) -> History:
        """Read what changed and return the history (without trial ``exclude_trial_id``)."""
        with self._lock:
            read = self._storage.trials_since(self._study_id, self._frontier)
            names: set[str] = set()
            new: list[TrialRecord] = []
            running: list[TrialRecord] = []
            for rec in read.trials:
                names.update(rec.params)
                if rec.state.finished:
                    if rec.trial_id not in self._ids:
                        new.append(rec)
                elif rec.state == TrialState.RUNNING:
                    running.append(rec)
            if read.frontier is not None:
                self._frontier = read.frontier
            if not names <= set(self._space):
                self.refresh_space()
            if new:
                self._hold(new)
            self._running = tuple(running)
            return self._snapshot(exclude_trial_id)

    # -- holding finished trials ------------------------------------------------------------
    def _hold(self, new: list[TrialRecord]) -> None:
        new.sort(key=_number)
        first = len(self._finished)
        in_order = not self._numbers or new[0].number > self._numbers[-1]
        if in_order:  # the usual case: they finished in order
            self._finished.extend(new)
            self._numbers.extend(t.number for t in new)
        else:
            for rec in new:
                k = bisect.bisect_left(self._numbers, rec.number)
                self._finished.insert(k, rec)
                self._numbers.insert(k, rec.number)
            self._generation += 1
        self._pending.extend(new)
        self._trials = ()
        self._ids.update(t.trial_id for t in new)
        keys = [config_key(t.params) for t in new]
        for key in keys:
            self._keys.setdefault(key, first + 1)  # held once the first n > first trials are
        if in_order:
            self._key_rows.extend(keys)
        else:
            self._key_rows = [config_key(t.params) for t in self._finished]

    def _derive_pending(self) -> None:
        """Derive the rows of the trials held since the last time, into the columns."""
        if not self._pending:
            return
        pending = sorted(self._pending, key=_number)
        self._pending = []
        rows = derive(pending, self._space, self._metrics)
        have = self._columns.numbers()
        positions = None
        if len(have) and pending[0].number < have[-1]:
            positions = np.searchsorted(have, [t.number for t in pending])
        self._columns.add(rows, positions)

    def _rows_of(self, trials: tuple[TrialRecord, ...], count: int, generation: int,
                 running: Sequence[TrialRecord], positions: np.ndarray | None) -> Rows:
        """The rows of a snapshot's ``trials``: its first ``count`` finished ones from the
        columns while they are still that prefix, its ``running`` ones (inserted at
        ``positions``, or after) derived now."""
        with self._lock:
            self._derive_pending()
            if generation == self._generation and self._columns.size() >= count:
                finished = self._columns.view(self._space, self._metrics, count)
            else:  # the columns moved on since the snapshot: its own rows, from its records
                kept = [t for t in trials if t.state != TrialState.RUNNING]
                finished = derive(kept, self._space, self._metrics)
            if not running:
                return finished
            run_rows = derive(running, self._space, self._metrics)
        if positions is None:
            return Rows.join([finished, run_rows])
        return Rows.merge(finished, positions, run_rows)

    # -- snapshots ---------------------------------------------------------------------------
    def _snapshot(self, exclude_trial_id: int | None) -> History:
        if not self._trials:
            self._trials = tuple(self._finished)
        finished, count, generation = self._trials, len(self._trials), self._generation
        keys, key_rows = self._keys, self._key_rows[:count]
        if exclude_trial_id is not None and exclude_trial_id in self._ids:
            # rare: the trial asked about finished already (a tell of a finished trial)
            keep = [t.trial_id != exclude_trial_id for t in finished]
            finished = tuple(t for t, ok in zip(finished, keep, strict=True) if ok)
            key_rows = [k for k, ok in zip(key_rows, keep, strict=True) if ok]
            keys = dict.fromkeys(key_rows, 0)
            count, generation = len(finished), -1  # not a prefix of the columns
        running = [t for t in self._running if t.trial_id != exclude_trial_id]
        run_keys = [config_key(t.params) for t in running]
        positions: np.ndarray | None = None
        if running and finished and running[0].number < finished[-1].number:
            positions = np.searchsorted([t.number for t in finished],
                                        [t.number for t in running])
            merged, all_keys = list(finished), list(key_rows)
            for k, rec, key in zip(reversed(positions.tolist()), reversed(running),
                                   reversed(run_keys), strict=True):
                merged.insert(k, rec)  # from the back: earlier positions stay valid
                all_keys.insert(k, key)
            trials = tuple(merged)
        elif running:
            trials, all_keys = finished + tuple(running), [*key_rows, *run_keys]
        else:
            trials, all_keys = finished, key_rows
        live = frozenset(run_keys)

        def seen(key: ConfigKey) -> bool:
            return keys.get(key, count + 1) <= count or key in live

        def rows() -> Rows:
            return self._rows_of(trials, count, generation, running, positions)

        return History.assemble(self._space, self._metrics, trials, rows, memo=self.memo,
                                seen=seen, row_keys=all_keys)


class _Columns:
    """The finished trials' rows, in columns that grow at their end.

    Appending writes past the rows a snapshot holds views of, so those views never change;
    anything else (a trial finishing out of order, the space growing) builds new columns.
    """

    def __init__(self) -> None:
        self._rows: Rows | None = None  # full buffers, capacity rows
        self._n = 0

    def size(self) -> int:
        return self._n

    def numbers(self) -> np.ndarray:
        return np.zeros(0, dtype=np.int64) if self._rows is None else self._rows.number[:self._n]

    def view(self, space: Space, metrics: MetricSet, count: int) -> Rows:
        """The first ``count`` rows (views: appending later leaves them as they are)."""
        if self._rows is None:
            return derive((), space, metrics)
        return self._rows.take(slice(0, count))

    def add(self, rows: Rows, positions: np.ndarray | None) -> None:
        if self._rows is None:
            self._rows, self._n = _with_capacity(rows, max(64, 2 * len(rows))), len(rows)
            return
        if positions is not None:
            merged = Rows.merge(self._rows.take(slice(0, self._n)), positions, rows)
            self._rows, self._n = _with_capacity(merged, 2 * len(merged)), len(merged)
            return
        n, m = self._n, len(rows)
        if n + m > len(self._rows):
            self._rows = _with_capacity(self._rows.take(slice(0, n)), 2 * (n + m))
        for mine, theirs in zip(self._rows._arrays(), rows._arrays(), strict=True):
            mine.flags.writeable = True  # only rows no snapshot holds are written
            mine[n:n + m] = theirs
            mine.flags.writeable = False
        self._n = n + m

    def respace(self, old: Space, new: Space, finished: Sequence[TrialRecord]) -> None:
        """Points over the ``new`` space: kept columns for parameters ``old`` had, the others
        derived from the finished trials' records."""
        if self._rows is None or not self._n:
            return
        have = self._rows.take(slice(0, self._n))
        points = np.empty((self._n, len(new)))
        position = {n: j for j, n in enumerate(old)}
        added = [n for n in new if n not in position or old[n] != new[n]]
        for j, name in enumerate(new):
            if name not in added:
                points[:, j] = have.points[:, position[name]]
        if added:
            fresh = new.subset(added).coordinates([t.params for t in finished])
            for k, name in enumerate(added):
                points[:, list(new).index(name)] = fresh[:, k]
        rows = have.with_points(points)
        self._rows, self._n = _with_capacity(rows, 2 * self._n), self._n


def _with_capacity(rows: Rows, capacity: int) -> Rows:
    """Buffers of ``capacity`` rows that start with ``rows``."""
    out = []
    for a in rows._arrays():
        buf = np.empty((capacity, *a.shape[1:]), dtype=a.dtype)
        buf[: len(a)] = a
        buf.flags.writeable = False
        out.append(buf)
    return Rows(*out)


def _number(trial: TrialRecord) -> int:
    return trial.number
