"""The read-only history samplers and pruners see, kept up to date without re-reading it all.

Finished trials never change, so the cache keeps them and refetches only trials at or above
the *watermark*: the lowest trial id not yet known to be finished. Trials finish roughly in
order, so each refresh reads the running trials and the new ones, not the whole study
(Optuna reads every trial per suggestion: optuna#1170).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from dialed.metrics import MetricSet
from dialed.samplers import History
from dialed.samplers._base import config_key, is_complete
from dialed.space import Space
from dialed.storage import Storage
from dialed.trial import TrialRecord, TrialState

__all__ = ["HistoryCache"]


class HistoryCache:
    def __init__(self, storage: Storage, study_id: int, metrics: MetricSet) -> None:
        self._storage = storage
        self._study_id = study_id
        self._metrics = metrics
        self._finished: dict[int, TrialRecord] = {}
        self._live: dict[int, TrialRecord] = {}
        self._watermark: int | None = None
        self._space = Space()
        self._space_dict: dict[str, dict[str, object]] = {}
        self._ordered: tuple[TrialRecord, ...] = ()
        # the complete and pruned ones among _ordered, kept alongside it
        self._objectives = [m.name for m in metrics.objectives]
        self._complete: tuple[TrialRecord, ...] = ()
        self._pruned: tuple[TrialRecord, ...] = ()
        # the configurations of the finished trials, so a sampler's History.seen() is a lookup
        self._finished_keys: set[tuple[tuple[str, str], ...]] = set()

    @property
    def space(self) -> Space:
        return self._space

    def set_space(self, space: dict[str, dict[str, object]]) -> None:
        """Adopt the study's space as stored (it only grows)."""
        if space != self._space_dict:
            self._space_dict = dict(space)
            self._space = Space(space)

    def refresh_space(self) -> Space:
        self.set_space(self._storage.get_space(self._study_id))
        return self._space

    def refresh(self, exclude_trial_id: int | None = None) -> History:
        """Read what changed since the last call and return the history (minus one trial)."""
        fetched = self._storage.get_trials(self._study_id, min_trial_id=self._watermark)
        self._live = {}
        names: set[str] = set()
        new: list[TrialRecord] = []
        for rec in fetched:
            names.update(rec.params)
            if rec.state.finished:
                if rec.trial_id not in self._finished:
                    new.append(rec)
                self._finished[rec.trial_id] = rec
            elif rec.state.value != "waiting":
                self._live[rec.trial_id] = rec
        if self._live:
            self._watermark = min(self._live)
        elif fetched:
            self._watermark = max(r.trial_id for r in fetched) + 1
        if not names <= set(self._space):
            self.refresh_space()
        if new:  # finished trials never change: order them only when new ones arrive
            new.sort(key=_number)
            self._finished_keys.update(config_key(t.params) for t in new)
            if not self._ordered or new[0].number > self._ordered[-1].number:
                self._ordered += tuple(new)  # the usual case: they finished in order
                self._complete += self._completed(new)
                self._pruned += self._pruned_of(new)
            else:
                self._ordered = tuple(sorted(self._finished.values(), key=_number))
                self._complete = self._completed(self._ordered)
                self._pruned = self._pruned_of(self._ordered)
        if exclude_trial_id is not None and exclude_trial_id in self._finished:  # rare
            trials = tuple(t for t in self._merged(self._live_sorted())
                           if t.trial_id != exclude_trial_id)
            return History(space=self._space, metrics=self._metrics, trials=trials)
        # the usual exclusion: the running trial being suggested for
        live = [t for t in self._live_sorted() if t.trial_id != exclude_trial_id]
        trials = self._merged(live)
        running = tuple(t for t in live if t.state == TrialState.RUNNING)
        return History.of_parts(self._space, self._metrics, trials, complete=self._complete,
                                pruned=self._pruned, running=running,
                                finished_keys=self._finished_keys)

    def _live_sorted(self) -> list[TrialRecord]:
        return sorted(self._live.values(), key=_number)

    def _merged(self, live: list[TrialRecord]) -> tuple[TrialRecord, ...]:
        """The finished trials and ``live`` ones, by number."""
        if live and self._ordered and live[0].number < self._ordered[-1].number:
            return tuple(heapq.merge(self._ordered, live, key=_number))
        return self._ordered + tuple(live)

    def _completed(self, trials: Iterable[TrialRecord]) -> tuple[TrialRecord, ...]:
        return tuple(t for t in trials if is_complete(t, self._objectives))

    @staticmethod
    def _pruned_of(trials: Iterable[TrialRecord]) -> tuple[TrialRecord, ...]:
        return tuple(t for t in trials if t.state == TrialState.PRUNED)


def _number(trial: TrialRecord) -> int:
    return trial.number
