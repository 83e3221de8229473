"""Any dialed sampler as an Optuna sampler: :class:`DialedSampler`.

Optuna asks a sampler for a joint proposal over the study's *relative* search space (here, the
intersection of the finished trials' distributions, as Optuna's own model-based samplers use)
and then for each parameter outside it. Both questions are answered by the dialed sampler from a
read-only :class:`~dialed.history.History` built from the Optuna study's trials (finished and
running, never the trial being sampled), exactly as dialed's engine asks it: a pure function of
(seed, history, trial number). The records of finished trials are converted once and kept; the
samplers' derived model state goes to one :class:`~dialed.history.Memo`, as in the engine.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.search_space import IntersectionSearchSpace
from optuna.study import Study
from optuna.trial import FrozenTrial

from dialed._util import new_seed
from dialed.history import History, Memo
from dialed.integrations._optuna_convert import (
    CONSTRAINTS_ATTR,
    count_constraints,
    metric_set,
    native_value,
    space_of,
    to_dialed,
    to_record,
)
from dialed.metrics import MetricSet
from dialed.samplers import make_sampler
from dialed.space import Space
from dialed.trial import TrialRecord

__all__ = ["DialedSampler"]

_READ = (
    optuna.trial.TrialState.COMPLETE,
    optuna.trial.TrialState.PRUNED,
    optuna.trial.TrialState.FAIL,
    optuna.trial.TrialState.RUNNING,
)


class DialedSampler(BaseSampler):
    """An Optuna sampler that runs dialed's sampler ``name`` (``auto``, ``gp``, ``tpe``,
    ``cmaes``, ``nsga2``, ``random``, ``sobol``, ``grid``, ``portfolio``) on the study's trials.

    ``seed`` (a fresh one when None, kept in :attr:`seed`) and ``options`` go to
    :func:`dialed.samplers.make_sampler`. ``constraints_func`` works as in Optuna's samplers:
    its values for a finished trial are stored in the trial's system attribute
    ``constraints``, and dialed treats each as a constraint ``<= 0``.
    """

    def __init__(
        self,
        name: str = "auto",
        *,
        seed: int | None = None,
        constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None,
        **options: Any,
    ) -> None:
        self.seed = new_seed() if seed is None else int(seed)
        self._sampler = make_sampler(name, seed=self.seed, **options)
        self._constraints_func = constraints_func
        self._memo = Memo()
        self._search_space = IntersectionSearchSpace(include_pruned=True)
        self._lock = threading.Lock()
        self._owner: tuple[int, int] | None = None  # (storage, study) the cache below is of
        self._finished: dict[int, TrialRecord] = {}  # converted finished trials, by trial id
        self._metrics: MetricSet | None = None

    @property
    def name(self) -> str:
        """The dialed sampler's name."""
        return self._sampler.name

    def __repr__(self) -> str:
        return f"DialedSampler({self._sampler.name!r}, seed={self.seed})"

    def reseed_rng(self) -> None:
        """Nothing to reseed: a suggestion depends on the seed, the trials and the trial's
        number, so parallel workers (which sample different numbers) never repeat each other."""

    # -- Optuna's sampler interface -----------------------------------------------------------
    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        space = self._search_space.calculate(study)
        return {name: d for name, d in space.items() if not d.single()}

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        space = Space(space_of(search_space))
        history = self._history(study, trial, space)
        proposal = self._sampler.suggest(history, space, trial.number)
        return {
            name: native_value(search_space[name], space[name], value)
            for name, value in proposal.items()
            if name in search_space
        }

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        dist = to_dialed(param_name, param_distribution)
        history = self._history(study, trial, Space())
        value = self._sampler.suggest_one(history, param_name, dist, trial.number,
                                          dict(trial.params))
        return native_value(param_distribution, dist, value)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: optuna.trial.TrialState,
        values: Sequence[float] | None,
    ) -> None:
        if self._constraints_func is None or state not in (
            optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED
        ):
            return
        constraints = [float(c) for c in self._constraints_func(trial)]
        if any(math.isnan(c) for c in constraints):
            raise ValueError(f"constraints_func returned NaN for trial {trial.number}: "
                             f"{constraints}; constraint values must be numbers")
        study._storage.set_trial_system_attr(trial._trial_id, CONSTRAINTS_ATTR, constraints)

    # -- the history ---------------------------------------------------------------------------
    def _history(self, study: Study, trial: FrozenTrial, space: Space) -> History:
        """The study's trials but ``trial`` as dialed's read-only history over ``space``."""
        frozen = [t for t in study.get_trials(deepcopy=False, states=_READ)
                  if t.number != trial.number]
        with self._lock:
            owner = (id(study._storage), study._study_id)
            if owner != self._owner:
                self._owner, self._finished, self._metrics = owner, {}, None
            metrics = metric_set(study.directions, count_constraints(frozen))
            if metrics != self._metrics:
                self._finished, self._metrics = {}, metrics
            records = []
            for t in frozen:
                record = self._finished.get(t._trial_id)
                if record is None:
                    record = to_record(t, study._study_id, metrics)
                    if t.state.is_finished():
                        self._finished[t._trial_id] = record
                records.append(record)
        return History(space, metrics, records, memo=self._memo)
