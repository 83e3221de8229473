"""The read-only history samplers and pruners see: a study's trials and what derives from them.

A :class:`History` is a snapshot: the space, the metrics and the trials so far (the finished
ones and the running ones, by number; never the trial being suggested for). Besides the
records it holds one row per trial of derived arrays (:class:`~._rows.Rows`: losses,
violation, model coordinates, last reported value) and answers the questions every sampler
asks (which configurations were tried, which trials are complete, feasible, on the Pareto
front) from them, so that no sampler keeps such things of its own. The engine's log
(:class:`~._log.HistoryLog`) builds each snapshot from rows it computed once per trial; a
history built from records (a test, a pruner's view) derives them when first asked.

:meth:`History.view` makes a history of some of these trials (a bracket, a stage, a budget's
observations), reusing the rows of the records it keeps; every view shares the :class:`Memo`
of its parent, where samplers keep derived model state.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import Any

import numpy as np

from dialed.history._memo import Memo
from dialed.history._rows import (
    PRUNED,
    RUNNING,
    ConfigKey,
    Rows,
    config_key,
    derive,
)
from dialed.metrics import MetricSet, fronts, non_dominated
from dialed.space import Space
from dialed.trial import TrialRecord

__all__ = ["History", "pareto_front"]

#: ``seen(key)`` of a snapshot the engine's log made (its kept keys), or None.
SeenIndex = Callable[[ConfigKey], bool]


class History:
    """What a sampler or a pruner may know: the space, the metrics, the trials (read-only).

    ``trials`` holds every finished trial and the running ones, ordered by number.
    """

    def __init__(
        self,
        space: Space,
        metrics: MetricSet,
        trials: Sequence[TrialRecord] = (),
        *,
        memo: Memo | None = None,
    ) -> None:
        self._space = space
        self._metrics = metrics
        self._trials = tuple(trials)
        self._memo = Memo() if memo is None else memo
        self._given_rows: Rows | Callable[[], Rows] | None = None
        self._seen_index: SeenIndex | None = None
        self._row_keys: Sequence[ConfigKey] | None = None

    @classmethod
    def assemble(
        cls,
        space: Space,
        metrics: MetricSet,
        trials: tuple[TrialRecord, ...],
        rows: Rows | Callable[[], Rows],
        *,
        memo: Memo,
        seen: SeenIndex | None = None,
        row_keys: Sequence[ConfigKey] | None = None,
    ) -> History:
        """A history whose rows (and configuration keys) the caller has derived already, or
        derives when first asked (``rows`` a function).

        ``rows`` must be :func:`derive` of ``trials`` over ``space``; ``seen`` answers whether
        a trial of ``trials`` has a configuration key, and ``row_keys`` gives each one's key.
        """
        history = cls(space, metrics, trials, memo=memo)
        history._given_rows = rows
        history._seen_index = seen
        history._row_keys = row_keys
        return history

    # -- what it holds ------------------------------------------------------------------------
    @property
    def space(self) -> Space:
        return self._space

    @property
    def metrics(self) -> MetricSet:
        return self._metrics

    @property
    def trials(self) -> tuple[TrialRecord, ...]:
        return self._trials

    @property
    def memo(self) -> Memo:
        """Derived model state shared with the engine's other snapshots (see :class:`Memo`)."""
        return self._memo

    def __repr__(self) -> str:
        return (f"History({len(self._trials)} trials: {len(self.complete)} complete, "
                f"{len(self.pruned)} pruned, {len(self.running)} running)")

    @cached_property
    def rows(self) -> Rows:
        """One row of derived arrays per trial of :attr:`trials`."""
        given = self._given_rows
        if isinstance(given, Rows):
            return given
        if given is not None:
            return given()
        return derive(self._trials, self._space, self._metrics)

    # -- subsets (records, and their row indices) ---------------------------------------------
    @cached_property
    def complete_rows(self) -> np.ndarray:
        """Rows of the complete trials with every objective, shape ``(n_complete,)``."""
        return np.flatnonzero(self.rows.complete)

    @cached_property
    def pruned_rows(self) -> np.ndarray:
        return np.flatnonzero(self.rows.state == PRUNED)

    @cached_property
    def running_rows(self) -> np.ndarray:
        return np.flatnonzero(self.rows.state == RUNNING)

    @cached_property
    def complete(self) -> tuple[TrialRecord, ...]:
        """Finished trials with every objective, feasible or not."""
        return tuple(itertools.compress(self._trials, self.rows.complete.tolist()))

    @cached_property
    def pruned(self) -> tuple[TrialRecord, ...]:
        return tuple(itertools.compress(self._trials, (self.rows.state == PRUNED).tolist()))

    @cached_property
    def running(self) -> tuple[TrialRecord, ...]:
        return tuple(itertools.compress(self._trials, (self.rows.state == RUNNING).tolist()))

    # -- derived arrays -----------------------------------------------------------------------
    def losses(self, trials: Sequence[TrialRecord] | None = None) -> np.ndarray:
        """Objective values as losses, shape ``(n, n_objectives)``: of the complete trials
        (default, the history's own rows) or of ``trials``."""
        if trials is None:
            out: np.ndarray = self.rows.losses[self.complete_rows]
            return out
        return derive(trials, Space(), self._metrics).losses

    def violations(self, trials: Sequence[TrialRecord] | None = None) -> np.ndarray:
        """Total constraint violation (0 = feasible), shape ``(n,)``: of the complete trials
        (default) or of ``trials``."""
        if trials is None:
            out: np.ndarray = self.rows.violation[self.complete_rows]
            return out
        return derive(trials, Space(), self._metrics).violation

    @cached_property
    def feasible(self) -> np.ndarray:
        """Mask over :attr:`complete`: which meet every constraint, shape ``(n_complete,)``."""
        out: np.ndarray = self.violations() <= 0.0
        return out

    def points(self, names: Sequence[str] | None = None, rows: np.ndarray | None = None, *,
               space: Space | None = None) -> np.ndarray:
        """Model coordinates (:meth:`Space.coordinates`) of the parameters ``names`` (default:
        the whole space) of the trials at ``rows`` (default: all), shape ``(n, len(names))``.

        ``space`` says how to read ``names``; where it differs from the history's (a parameter
        seen for the first time, a sampler's own view) they are derived from the records.
        """
        if space is not None and names is not None and any(
            self._space.get(n) != space[n] for n in names
        ):
            trials = self._trials if rows is None else [self._trials[i] for i in rows]
            return space.subset(names).coordinates([t.params for t in trials])
        pts = self.rows.points
        if names is not None:
            index = _columns(self._space, names)
            pts = pts[:, index] if rows is None else pts[np.ix_(rows, index)]
        elif rows is not None:
            pts = pts[rows]
        return pts

    # -- configurations -----------------------------------------------------------------------
    def seen(self, params: Mapping[str, Any]) -> bool:
        """Whether a finished or running trial of this history has exactly these parameters."""
        key = config_key(params)
        if self._seen_index is not None:
            return self._seen_index(key)
        return key in self._keys

    @cached_property
    def _keys(self) -> frozenset[ConfigKey]:
        return frozenset(self.row_keys)

    @cached_property
    def row_keys(self) -> Sequence[ConfigKey]:
        """The configuration key of each trial, in order."""
        if self._row_keys is not None:
            return self._row_keys
        return tuple(config_key(t.params) for t in self._trials)

    # -- the Pareto front ---------------------------------------------------------------------
    @cached_property
    def pareto_ranks(self) -> np.ndarray:
        """Each complete trial's front in the non-dominated sorting of the feasible ones
        (0 = on the Pareto front), -1 for an infeasible one; shape ``(n_complete,)``."""
        losses, feasible = self.losses(), self.feasible
        ranks = np.full(len(losses), -1, dtype=int)
        where = np.flatnonzero(feasible)
        for k, front in enumerate(fronts(losses[where])):
            ranks[where[front]] = k
        return ranks

    @cached_property
    def front(self) -> tuple[TrialRecord, ...]:
        """The complete, feasible trials that no other such trial dominates, by number."""
        losses, feasible = self.losses(), self.feasible
        on = np.zeros(len(losses), dtype=bool)
        on[feasible] = non_dominated(losses[feasible])
        return tuple(itertools.compress(self.complete, on.tolist()))

    # -- views --------------------------------------------------------------------------------
    def view(self, trials: Sequence[TrialRecord], space: Space | None = None) -> History:
        """A history of ``trials`` (some of these, or records made from them) over ``space``
        (default: this one's), sharing this one's memo.

        The rows of a record that is one of this history's are reused; a record that carries
        one's parameters (the same mapping) reuses its coordinates; others are derived.
        """
        space = self._space if space is None else space
        trials = tuple(trials)
        if not trials:
            return History(space, self._metrics, trials, memo=self._memo)
        if not self._trials:  # no rows to reuse: each record's are derived
            return History.assemble(space, self._metrics, trials,
                                    derive(trials, space, self._metrics), memo=self._memo)
        where = self._row_of
        found = [where.get(t.trial_id, -1) for t in trials]
        same_record = np.array([i >= 0 and self._trials[i] is t
                                for i, t in zip(found, trials, strict=True)], dtype=bool)
        same_params = np.array([i >= 0 and self._trials[i].params is t.params
                                for i, t in zip(found, trials, strict=True)], dtype=bool)
        index = np.array(found, dtype=int)
        rows = self.rows
        if same_record.all():
            derived = rows.take(index)
        else:
            fresh = derive(trials, Space(), self._metrics)
            take = rows.take(np.where(same_record, index, 0))
            derived = Rows.of([*(_frozen(np.where(_wide(same_record, a), a, b))
                                 for a, b in zip(take._arrays()[:-1], fresh._arrays()[:-1],
                                                 strict=True)), fresh.points])
        if space == self._space:
            reuse = same_params
            points = rows.points[np.where(reuse, index, 0)]
        else:
            reuse = same_params & all(n in self._space and self._space[n] == space[n]
                                      for n in space)
            cols = _columns(self._space, list(space) if reuse.any() else [])
            points = rows.points[np.ix_(np.where(reuse, index, 0), cols)] if reuse.any() \
                else np.empty((len(trials), len(space)))
        if not reuse.all():
            missing = np.flatnonzero(~reuse)
            points = np.array(points, dtype=float)
            points[missing] = space.coordinates([trials[i].params for i in missing])
        keys: Sequence[ConfigKey] | None = None
        if "row_keys" in self.__dict__ or self._row_keys is not None:
            mine = self.row_keys
            keys = tuple(mine[i] if same_params[k] else config_key(t.params)
                         for k, (i, t) in enumerate(zip(found, trials, strict=True)))
        return History.assemble(space, self._metrics, trials, derived.with_points(points),
                                memo=self._memo, row_keys=keys)

    @cached_property
    def _row_of(self) -> dict[int, int]:
        return {t.trial_id: i for i, t in enumerate(self._trials)}


def pareto_front(trials: Sequence[TrialRecord], metrics: MetricSet) -> list[TrialRecord]:
    """The complete, feasible trials of ``trials`` that no other such trial dominates, by
    number (any records: an export, a subset, several studies' trials together)."""
    return sorted(History(Space(), metrics, trials).front, key=lambda t: t.number)


def _columns(space: Space, names: Sequence[str]) -> np.ndarray:
    position = {n: j for j, n in enumerate(space)}
    return np.array([position[n] for n in names], dtype=int)


def _wide(mask: np.ndarray, like: np.ndarray) -> np.ndarray:
    return mask.reshape((-1,) + (1,) * (like.ndim - 1))


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a
