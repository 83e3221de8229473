"""Optuna's API on dialed: change one line, ``import dialed.compat.optuna as optuna``.

A typical Optuna script then runs on dialed's engine, samplers, pruners and storages:
``create_study`` / ``load_study`` (``study_name``, ``direction`` / ``directions``, ``storage``
as a URL, ``sampler``, ``pruner``, ``load_if_exists``), ``study.optimize`` (``n_trials``,
``timeout``, ``n_jobs``, ``callbacks``, ``catch``, ``show_progress_bar``), ``trial.suggest_*``,
``report`` / ``should_prune`` / ``TrialPruned``, ``best_trial`` / ``best_value`` /
``best_params`` / ``best_trials``, ``trials``, ``trials_dataframe()``, ``enqueue_trial``,
``ask`` / ``tell`` and user attributes. ``samplers`` and ``pruners`` map Optuna's classes to
dialed's own algorithms (``TPESampler`` is dialed's TPE, ``MedianPruner`` dialed's median rule);
an option dialed has no counterpart for is refused in one line rather than ignored.
"""

from __future__ import annotations

import datetime as _dt
import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import dialed
from dialed._util import install_hint
from dialed.errors import ConfigError
from dialed.errors import Pruned as TrialPruned
from dialed.pruners import Pruner, make_pruner
from dialed.samplers import Sampler, make_sampler
from dialed.trial import TrialRecord, TrialState

__all__ = [
    "FrozenTrial",
    "Study",
    "StudyDirection",
    "Trial",
    "TrialPruned",
    "TrialState",
    "create_study",
    "delete_study",
    "exceptions",
    "load_study",
    "logging",
    "pruners",
    "samplers",
    "study",
    "trial",
    "visualization",
]


class StudyDirection(enum.Enum):
    NOT_SET = 0
    MINIMIZE = 1
    MAXIMIZE = 2


def _direction(value: Any) -> str:
    if isinstance(value, StudyDirection):
        value = value.name
    text = str(value).strip().lower()
    if text not in ("minimize", "maximize"):
        raise ConfigError(f"direction must be 'minimize' or 'maximize', got {value!r}")
    return text


# -- trials -----------------------------------------------------------------------------------
class Trial:
    """Optuna's ``Trial`` over a live dialed trial."""

    def __init__(self, native: dialed.Trial) -> None:
        self._native = native

    @property
    def number(self) -> int:
        return self._native.number

    @property
    def params(self) -> dict[str, Any]:
        return self._native.params

    @property
    def user_attrs(self) -> dict[str, Any]:
        return self._native.user_attrs

    def suggest_float(self, name: str, low: float, high: float, *, step: float | None = None,
                      log: bool = False) -> float:
        return self._native.suggest_float(name, low, high, step=step, log=log)

    def suggest_int(self, name: str, low: int, high: int, step: int = 1,
                    log: bool = False) -> int:
        return self._native.suggest_int(name, low, high, step=step, log=log)

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        return self._native.suggest_categorical(name, choices)

    def suggest_uniform(self, name: str, low: float, high: float) -> float:
        return self._native.suggest_float(name, low, high)

    def suggest_loguniform(self, name: str, low: float, high: float) -> float:
        return self._native.suggest_float(name, low, high, log=True)

    def suggest_discrete_uniform(self, name: str, low: float, high: float, q: float) -> float:
        return self._native.suggest_float(name, low, high, step=q)

    def report(self, value: float, step: int) -> None:
        self._native.report(value, step)

    def should_prune(self) -> bool:
        return self._native.should_prune()

    def set_user_attr(self, key: str, value: Any) -> None:
        self._native.set_user_attr(key, value)

    def __repr__(self) -> str:
        return f"Trial(number={self.number}, params={self.params!r})"


class FrozenTrial:
    """Optuna's ``FrozenTrial``: a finished (or running) trial's record, read-only."""

    def __init__(self, record: TrialRecord) -> None:
        self._record = record

    number = property(lambda self: self._record.number)
    state = property(lambda self: self._record.state)
    params = property(lambda self: dict(self._record.params))
    user_attrs = property(lambda self: dict(self._record.user_attrs))
    system_attrs = property(lambda self: dict(self._record.system_attrs))
    intermediate_values = property(lambda self: dict(self._record.intermediate))
    datetime_start = property(lambda self: _local(self._record.started_at))
    datetime_complete = property(lambda self: _local(self._record.finished_at))

    @property
    def value(self) -> float | None:
        return self._record.value

    @property
    def values(self) -> list[float] | None:
        return self._record.values

    @property
    def last_step(self) -> int | None:
        return self._record.last_step

    @property
    def duration(self) -> _dt.timedelta | None:
        start, end = self.datetime_start, self.datetime_complete
        return None if start is None or end is None else end - start

    @property
    def record(self) -> TrialRecord:
        """The dialed record underneath."""
        return self._record

    def __repr__(self) -> str:
        return (f"FrozenTrial(number={self.number}, state={self.state.name}, "
                f"values={self.values}, params={self.params}, user_attrs={self.user_attrs})")


def _local(ts: float | None) -> _dt.datetime | None:
    return None if ts is None else _dt.datetime.fromtimestamp(ts)


class _Objective:
    """An Optuna objective as dialed calls it (a class, so worker processes can pickle it)."""

    def __init__(self, func: Callable[[Trial], Any]) -> None:
        self.func = func

    def __call__(self, native: dialed.Trial) -> Any:
        return self.func(Trial(native))


# -- studies ----------------------------------------------------------------------------------
class Study:
    """Optuna's ``Study`` over a dialed study (``study.native`` is the dialed one)."""

    def __init__(self, native: dialed.Study) -> None:
        self.native = native

    @property
    def study_name(self) -> str:
        return self.native.name

    @property
    def directions(self) -> list[StudyDirection]:
        return [StudyDirection[str(m.direction).upper()] for m in self.native.metrics.objectives]

    @property
    def direction(self) -> StudyDirection:
        if len(self.directions) > 1:
            raise RuntimeError("a study with several objectives has directions, not direction")
        return self.directions[0]

    def stop(self) -> None:
        """Optuna's ``Study.stop``: no new trial after the running ones (dialed's stop)."""
        self.native.stop()

    def optimize(
        self,
        func: Callable[[Trial], Any],
        n_trials: int | None = None,
        timeout: float | None = None,
        n_jobs: int = 1,
        catch: Iterable[type[Exception]] | type[Exception] = (),
        callbacks: Iterable[Callable[[Study, FrozenTrial], None]] | None = None,
        gc_after_trial: bool = False,
        show_progress_bar: bool = False,
    ) -> None:
        caught = (catch,) if isinstance(catch, type) else tuple(catch)
        wrapped = [self._callback(cb) for cb in callbacks or ()]
        self.native.optimize(_Objective(func), n_trials=n_trials, timeout=timeout,
                             n_jobs=n_jobs, catch=caught, callbacks=wrapped,
                             show_progress=bool(show_progress_bar))

    def _callback(self, cb: Callable[[Study, FrozenTrial], None]
                  ) -> Callable[[dialed.Study, TrialRecord], None]:
        names = tuple(m.name for m in self.native.metrics.objectives)

        def call(_: dialed.Study, record: TrialRecord) -> None:
            from dataclasses import replace

            cb(self, FrozenTrial(replace(record, objectives=names)))

        return call

    def ask(self, fixed_distributions: Mapping[str, Any] | None = None) -> Trial:
        if fixed_distributions:
            raise ConfigError("ask(fixed_distributions=...) has no dialed equivalent: call "
                              "trial.suggest_* with the distribution instead")
        return Trial(self.native.ask())

    def tell(self, trial: Trial | int, values: float | Sequence[float] | None = None,
             state: TrialState | None = None, skip_if_finished: bool = False) -> FrozenTrial:
        target = trial._native if isinstance(trial, Trial) else trial
        if state == TrialState.COMPLETE:
            state = None
        return FrozenTrial(self.native.tell(target, values, state=state))

    def enqueue_trial(self, params: Mapping[str, Any],
                      user_attrs: Mapping[str, Any] | None = None,
                      skip_if_exists: bool = False) -> None:
        if user_attrs:
            raise ConfigError("enqueue_trial(user_attrs=...) has no dialed equivalent: set "
                              "them with trial.set_user_attr in the objective")
        if skip_if_exists and any(dict(t.params) == dict(params) for t in self.native.trials):
            return
        self.native.enqueue(params)

    @property
    def best_trial(self) -> FrozenTrial:
        return FrozenTrial(self.native.best_trial)

    @property
    def best_value(self) -> float:
        return self.native.best_value

    @property
    def best_params(self) -> dict[str, Any]:
        return self.native.best_params

    @property
    def best_trials(self) -> list[FrozenTrial]:
        return [FrozenTrial(r) for r in self.native.best_trials]

    @property
    def trials(self) -> list[FrozenTrial]:
        return [FrozenTrial(r) for r in self.native.trials]

    def get_trials(self, deepcopy: bool = True,
                   states: Iterable[TrialState] | None = None) -> list[FrozenTrial]:
        return [FrozenTrial(r) for r in self.native.get_trials(states)]

    @property
    def user_attrs(self) -> dict[str, Any]:
        return self.native.user_attrs

    def set_user_attr(self, key: str, value: Any) -> None:
        self.native.set_user_attr(key, value)

    def trials_dataframe(self, attrs: Sequence[str] | None = None,
                         multi_index: bool = False) -> Any:
        """The trials as a pandas DataFrame with Optuna's columns (number, value or
        values_0 ..., datetime_start, datetime_complete, duration, params_*, user_attrs_*,
        state)."""
        try:
            import pandas as pd
        except ImportError:
            raise ConfigError(f"trials_dataframe() needs pandas: {install_hint('pandas')}")\
                from None
        n_obj = len(self.native.metrics.objectives)
        rows = []
        for t in self.trials:
            row: dict[str, Any] = {"number": t.number}
            vals = t.values
            if n_obj == 1:
                row["value"] = None if vals is None else vals[0]
            else:
                row.update({f"values_{i}": None if vals is None else vals[i]
                            for i in range(n_obj)})
            row.update({"datetime_start": t.datetime_start,
                        "datetime_complete": t.datetime_complete, "duration": t.duration})
            row.update({f"params_{k}": v for k, v in t.params.items()})
            row.update({f"user_attrs_{k}": v for k, v in t.user_attrs.items()})
            row["state"] = t.state.name if t.state != TrialState.FAILED else "FAIL"
            rows.append(row)
        frame = pd.DataFrame(rows)
        if attrs is not None and len(frame):
            keep = [c for c in frame.columns
                    if c.split("_")[0] in attrs or c in attrs
                    or any(c.startswith(a + "_") for a in attrs)]
            frame = frame[keep]
        return frame

    def __getattr__(self, name: str) -> Any:  # anything else: the dialed study's
        return getattr(self.native, name)

    def __repr__(self) -> str:
        return f"Study(study_name={self.study_name!r})"


def create_study(
    *,
    storage: str | None = None,
    sampler: Sampler | None = None,
    pruner: Pruner | None = None,
    study_name: str | None = None,
    direction: str | StudyDirection | None = None,
    load_if_exists: bool = False,
    directions: Sequence[str | StudyDirection] | None = None,
) -> Study:
    """Optuna's ``create_study``; ``storage`` is a URL (``sqlite:///...``) or None (memory)."""
    _check_storage(storage)
    native = dialed.create_study(
        study_name, storage=storage, sampler=sampler, pruner=pruner,
        direction=None if direction is None else _direction(direction),
        directions=None if directions is None else [_direction(d) for d in directions],
        load_if_exists=load_if_exists,
    )
    return Study(native)


def load_study(*, study_name: str | None, storage: str, sampler: Sampler | None = None,
               pruner: Pruner | None = None) -> Study:
    _check_storage(storage)
    if study_name is None:
        names = [s.name for s in dialed.list_studies(storage)]
        if len(names) != 1:
            raise ConfigError(f"study_name=None needs a storage with one study; it has "
                              f"{len(names)} ({', '.join(names)})")
        study_name = names[0]
    return Study(dialed.load_study(study_name, storage=storage, sampler=sampler, pruner=pruner))


def delete_study(*, study_name: str, storage: str) -> None:
    _check_storage(storage)
    dialed.delete_study(study_name, storage=storage)


def _check_storage(storage: Any) -> None:
    if storage is not None and not isinstance(storage, str):
        raise ConfigError(
            f"storage must be a URL such as 'sqlite:///example.db' (dialed opens it with its own "
            f"engine), got {type(storage).__name__}; for an Optuna storage object use "
            "dialed.integrations.optuna"
        )


# -- samplers and pruners: Optuna's names, dialed's algorithms ----------------------------------
def _options(cls: str, given: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    """Optuna's options as dialed's (``names``: Optuna -> dialed); others refused in one line."""
    out: dict[str, Any] = {}
    for key, value in given.items():
        if key not in names:
            valid = ", ".join(sorted(names)) or "none"
            raise ConfigError(f"{cls}({key}=...) has no dialed equivalent (dialed's {cls} "
                              f"takes {valid})")
        out[names[key]] = value
    return out


class samplers:
    """``optuna.samplers``: each name builds the dialed sampler of the same algorithm."""

    @staticmethod
    def TPESampler(seed: int | None = None, **options: Any) -> Sampler:
        names = {"n_startup_trials": "n_startup", "n_ei_candidates": "n_candidates",
                 "multivariate": "multivariate", "constant_liar": "constant_liar",
                 "prior_weight": "prior_weight"}
        return make_sampler("tpe", seed=seed, **_options("TPESampler", options, names))

    @staticmethod
    def RandomSampler(seed: int | None = None) -> Sampler:
        return make_sampler("random", seed=seed)

    @staticmethod
    def CmaEsSampler(seed: int | None = None, **options: Any) -> Sampler:
        names = {"n_startup_trials": "n_startup", "popsize": "popsize",
                 "restart_strategy": "restarts"}
        return make_sampler("cmaes", seed=seed, **_options("CmaEsSampler", options, names))

    @staticmethod
    def GPSampler(seed: int | None = None, **options: Any) -> Sampler:
        names = {"n_startup_trials": "n_startup"}
        return make_sampler("gp", seed=seed, **_options("GPSampler", options, names))

    @staticmethod
    def NSGAIISampler(seed: int | None = None, **options: Any) -> Sampler:
        names = {k: k for k in ("population_size", "crossover_prob", "swap_prob",
                                "mutation_prob")}
        return make_sampler("nsga2", seed=seed, **_options("NSGAIISampler", options, names))

    @staticmethod
    def QMCSampler(seed: int | None = None, scramble: bool = True) -> Sampler:
        return make_sampler("sobol", seed=seed, scramble=scramble)


class pruners:
    """``optuna.pruners``: each name builds the dialed pruner of the same rule."""

    @staticmethod
    def MedianPruner(n_startup_trials: int = 5, n_warmup_steps: int = 0,
                     interval_steps: int = 1, *, n_min_trials: int = 1) -> Pruner:
        return make_pruner({"name": "median", "n_startup_trials": n_startup_trials,
                            "n_warmup_steps": n_warmup_steps, "interval_steps": interval_steps,
                            "n_min_trials": n_min_trials})

    @staticmethod
    def PercentilePruner(percentile: float, n_startup_trials: int = 5,
                         n_warmup_steps: int = 0, interval_steps: int = 1, *,
                         n_min_trials: int = 1) -> Pruner:
        return make_pruner({"name": "percentile", "percentile": percentile,
                            "n_startup_trials": n_startup_trials,
                            "n_warmup_steps": n_warmup_steps, "interval_steps": interval_steps,
                            "n_min_trials": n_min_trials})

    @staticmethod
    def SuccessiveHalvingPruner(min_resource: int | str = "auto",
                                reduction_factor: int = 4,
                                min_early_stopping_rate: int = 0) -> Pruner:
        if min_early_stopping_rate:
            raise ConfigError("SuccessiveHalvingPruner(min_early_stopping_rate=...) has no "
                              "dialed equivalent in ASHA; use HyperbandPruner")
        return make_pruner({"name": "asha", "reduction_factor": reduction_factor,
                            "min_resource": None if min_resource == "auto" else min_resource})

    @staticmethod
    def HyperbandPruner(min_resource: int = 1, max_resource: int | str = "auto",
                        reduction_factor: int = 3) -> Pruner:
        return make_pruner({"name": "hyperband", "min_resource": min_resource,
                            "max_resource": None if max_resource == "auto" else max_resource,
                            "reduction_factor": reduction_factor})

    @staticmethod
    def NopPruner() -> Pruner:
        return make_pruner("none")


class exceptions:
    TrialPruned = TrialPruned


class trial:
    Trial = Trial
    FrozenTrial = FrozenTrial
    TrialState = TrialState


class study:
    Study = Study
    StudyDirection = StudyDirection


class visualization:
    """``optuna.visualization``'s figures drawn by :mod:`dialed.plot` (plotly, the ``plot``
    extra). A ``target`` callable is refused: dialed plots a metric by name."""

    @staticmethod
    def plot_optimization_history(study: Study, *, target: Any = None,
                                  target_name: str = "Objective Value") -> Any:
        _no_target(target, "plot_optimization_history")
        return _plot().plot_optimization_history(study)

    @staticmethod
    def plot_param_importances(study: Study, evaluator: Any = None, params: Any = None, *,
                               target: Any = None, target_name: str = "Objective Value") -> Any:
        _no_target(target, "plot_param_importances")
        if evaluator is not None or params is not None:
            raise ConfigError("plot_param_importances: dialed fits its own fANOVA forest over "
                             "every parameter; leave evaluator and params out")
        return _plot().plot_param_importances(study)

    @staticmethod
    def plot_contour(study: Study, params: list[str] | None = None, *, target: Any = None,
                     target_name: str = "Objective Value") -> Any:
        _no_target(target, "plot_contour")
        return _plot().plot_contour(study, params)

    @staticmethod
    def plot_slice(study: Study, params: list[str] | None = None, *, target: Any = None,
                   target_name: str = "Objective Value") -> Any:
        _no_target(target, "plot_slice")
        return _plot().plot_slice(study, params)

    @staticmethod
    def plot_parallel_coordinate(study: Study, params: list[str] | None = None, *,
                                 target: Any = None,
                                 target_name: str = "Objective Value") -> Any:
        _no_target(target, "plot_parallel_coordinate")
        return _plot().plot_parallel_coordinate(study, params)

    @staticmethod
    def plot_intermediate_values(study: Study) -> Any:
        return _plot().plot_intermediate_values(study)

    @staticmethod
    def plot_pareto_front(study: Study) -> Any:
        return _plot().plot_pareto_front(study)

    @staticmethod
    def plot_timeline(study: Study) -> Any:
        return _plot().plot_timeline(study)


def _plot() -> Any:
    import dialed.plot

    return dialed.plot


def _no_target(target: Any, what: str) -> None:
    if target is not None:
        raise ConfigError(f"{what}: dialed plots a study's metric by name, not a target "
                         "callable; leave target out, or call dialed.plot."
                         f"{what}(study.native, metric=NAME)")


class logging:
    CRITICAL, FATAL, ERROR, WARNING, WARN, INFO, DEBUG = 50, 50, 40, 30, 30, 20, 10

    @staticmethod
    def set_verbosity(verbosity: int) -> None:
        """Accepted for Optuna scripts; dialed prints only what the caller asks for."""

    @staticmethod
    def disable_default_handler() -> None:
        """Accepted for Optuna scripts."""

    @staticmethod
    def enable_default_handler() -> None:
        """Accepted for Optuna scripts."""
