"""The read-only history samplers and pruners see, kept up to date without re-reading it all.

Finished trials never change, so the cache keeps them and refetches only trials at or above
the *watermark*: the lowest trial id not yet known to be finished. Trials finish roughly in
order, so each refresh reads the running trials and the new ones, not the whole study
(Optuna reads every trial per suggestion: optuna#1170).
"""

from __future__ import annotations

from dialed.metrics import MetricSet
from dialed.samplers import History
from dialed.space import Space
from dialed.storage import Storage
from dialed.trial import TrialRecord

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
        for rec in fetched:
            names.update(rec.params)
            if rec.state.finished:
                self._finished[rec.trial_id] = rec
            else:
                self._live[rec.trial_id] = rec
        if self._live:
            self._watermark = min(self._live)
        elif fetched:
            self._watermark = max(r.trial_id for r in fetched) + 1
        if not names <= set(self._space):
            self.refresh_space()
        trials = sorted(
            (t for t in (*self._finished.values(), *self._live.values())
             if t.trial_id != exclude_trial_id and t.state.value != "waiting"),
            key=lambda t: t.number,
        )
        return History(space=self._space, metrics=self._metrics, trials=tuple(trials))
