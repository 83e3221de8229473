"""scikit-learn: :class:`DialedSearchCV`, a search estimator shaped like ``RandomizedSearchCV``.

It is a ``BaseSearchCV`` whose one extension hook, ``_run_search``, asks a dialed study for
each candidate and tells it the cross-validated score, so ``cv_results_``, ``best_*``, the
refit and the delegated ``predict`` / ``score`` / ... are scikit-learn's own. ``study_`` is the
dialed study, in ``storage`` when one is given (resumable under ``study_name``).

``pruning=True`` fits fold by fold (or, where the estimator has ``partial_fit``, epoch by
epoch on every fold, ``max_epochs`` epochs) and asks the study's pruner between steps; a pruned
trial stays in ``study_`` and is left out of ``cv_results_``, which then holds the trials that
ran every fold. Needs the ``sklearn`` extra.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from joblib import effective_n_jobs  # type: ignore[import-untyped]
from sklearn.base import clone, is_classifier
from sklearn.metrics import get_scorer_names
from sklearn.model_selection import check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import indexable

from dialed.errors import ConfigError, Pruned
from dialed.integrations._protocol import report_and_check, stop_trial
from dialed.space import Space
from dialed.study import Study, create_study
from dialed.trial import Trial, TrialState

__all__ = ["DialedSearchCV"]

_OWNER = "DialedSearchCV"


class DialedSearchCV(BaseSearchCV):  # type: ignore[misc]
    """Search ``space`` for ``estimator`` with a dialed study, cross-validated like
    ``RandomizedSearchCV``.

    ``space`` maps parameter names (``"C"``, ``"svc__gamma"``) to what a study file's
    ``space:`` holds (``{"type": "float", "low": 1e-3, "high": 10, "log": True}``, a list of
    choices) or to dialed distributions. ``scoring``, ``refit``, ``cv``, ``n_jobs``,
    ``error_score`` and ``return_train_score`` mean what they mean to scikit-learn; the study
    maximises the refit metric (the first one when ``refit`` is not a name). ``sampler`` and
    ``pruner`` take what :func:`dialed.create_study` does; ``pruning=True`` uses ``pruner``
    (the study's default when None).
    """

    def __init__(
        self,
        estimator: Any,
        space: Mapping[str, Any] | Space,
        *,
        n_trials: int = 10,
        cv: Any = None,
        scoring: Any = None,
        refit: Any = True,
        n_jobs: int | None = None,
        storage: Any = None,
        study_name: str | None = None,
        seed: int | None = None,
        timeout: float | None = None,
        pruning: bool = False,
        sampler: Any = None,
        pruner: Any = None,
        max_epochs: int = 20,
        error_score: Any = np.nan,
        return_train_score: bool = False,
        verbose: int = 0,
    ) -> None:
        super().__init__(
            estimator=estimator, scoring=scoring, n_jobs=n_jobs, refit=refit, cv=cv,
            verbose=verbose, error_score=error_score, return_train_score=return_train_score,
        )
        self.space = space
        self.n_trials = n_trials
        self.storage = storage
        self.study_name = study_name
        self.seed = seed
        self.timeout = timeout
        self.pruning = pruning
        self.sampler = sampler
        self.pruner = pruner
        self.max_epochs = max_epochs

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without ``study_`` (a live handle on a storage): joblib's workers receive the
        search, and a pickled fitted search reopens its study with :func:`dialed.load_study`."""
        state: dict[str, Any] = dict(super().__getstate__())
        state.pop("study_", None)
        return state

    # -- fit -------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, **params: Any) -> DialedSearchCV:
        """Run the study's trials, then refit the best configuration on all of ``X``."""
        self._check_settings()
        self._space_ = _as_space(self.space)
        names = _scorer_names(self.scoring, self.refit)
        self._metric_ = names[0]
        partial = self.pruning and hasattr(self.estimator, "partial_fit")
        resource = {"name": "epochs", "max": self.max_epochs} if partial else None
        self.study_ = create_study(
            self.study_name, storage=self.storage, metrics={self._metric_: "maximize"},
            sampler=self.sampler, pruner=self.pruner if self.pruning else "none",
            seed=self.seed, space=self._space_, resource=resource, load_if_exists=True,
        )
        if not self.pruning:
            super().fit(X, y, **params)
            return self
        self._validate_params()
        return self._fit_pruning(X, y, partial, **params)

    def _check_settings(self) -> None:
        """One line for each setting that cannot work, before any training starts."""
        for name in ("n_trials", "max_epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{_OWNER}: {name} must be a whole number >= 1, got {value!r}")
        if self.timeout is not None and not (
            isinstance(self.timeout, (int, float)) and self.timeout > 0
        ):
            raise ConfigError(f"{_OWNER}: timeout must be seconds > 0 or None, "
                              f"got {self.timeout!r}")
        _check_scoring(self.scoring)

    def _run_search(self, evaluate_candidates: Any, **_: Any) -> None:
        """scikit-learn's hook: each batch of candidates comes from the study and goes back."""
        batch = 1 if self.n_jobs in (None, 1) else max(1, effective_n_jobs(self.n_jobs))
        started = time.monotonic()
        done = 0
        evaluated = False
        failed: list[str] = []
        key = f"mean_test_{'score' if _single(self.scoring) else self._metric_}"
        while done < self.n_trials and not (done and self._timed_out(started)):
            trials = [self.study_.ask() for _ in range(min(batch, self.n_trials - done))]
            candidates = [t.suggest_space(self._space_) for t in trials]
            try:
                results = evaluate_candidates(candidates)
            except BaseException as exc:
                error = f"{type(exc).__name__}: {str(exc).strip()}"
                for t in trials:
                    self.study_.tell(t, state="failed", error=error)
                # scikit-learn raises when every fit of one call failed; with one candidate a
                # call, that fails this candidate's trial, not the search (error_score="raise"
                # raises the fit's own error instead)
                if not (isinstance(exc, ValueError) and "fits failed" in str(exc)):
                    raise
                failed.append(error)
            else:
                first = len(results["params"]) - len(trials)
                for i, t in enumerate(trials):
                    _tell(self.study_, t, _means(results, first + i, key, self._metric_))
                evaluated = True
            done += len(trials)
        if not evaluated:
            raise ValueError(f"{_OWNER}: every trial's fits failed; the first: {failed[0]}")

    def _timed_out(self, started: float) -> bool:
        return self.timeout is not None and time.monotonic() - started >= self.timeout

    # -- pruning: fold by fold, or epoch by epoch --------------------------------------------
    def _fit_pruning(self, X: Any, y: Any, partial: bool, **params: Any) -> DialedSearchCV:
        scorers, refit_metric = self._get_scorers()
        X, y = indexable(X, y)
        groups = params.pop("groups", None)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = list(cv.split(X, y, groups))
        self.n_splits_ = len(splits)
        base = clone(self.estimator)
        classes = np.unique(y) if partial and is_classifier(base) else None
        started = time.monotonic()
        kept: list[dict[str, Any]] = []
        outs: list[dict[str, Any]] = []
        self.n_pruned_ = 0
        for number in range(self.n_trials):
            if number and self._timed_out(started):
                break
            trial = self.study_.ask()
            config = trial.suggest_space(self._space_)
            estimator = clone(base).set_params(**config)
            run = _epochs if partial else _folds
            try:
                fold_outs = run(self, trial, estimator, X, y, splits, scorers, params, classes)
            except Pruned as exc:
                self.study_.tell(trial, state="pruned", error=str(exc))
                self.n_pruned_ += 1
                continue
            except BaseException as exc:
                self.study_.tell(trial, state="failed", error=f"{type(exc).__name__}: {exc}")
                if self.error_score == "raise":
                    raise
                continue
            values = {k if k != "score" else self._metric_: v
                      for k, v in _fold_means(fold_outs).items()}
            values.setdefault(self._metric_, float(np.mean(
                [_objective(o["test_scores"], self) for o in fold_outs])))
            _tell(self.study_, trial, values)
            kept.append(config)
            outs.extend(fold_outs)
        if not kept:
            raise ConfigError(
                f"{_OWNER}: no trial ran every fold ({self.n_pruned_} pruned, the rest failed): "
                "use more trials, a gentler pruner or pruning=False"
            )
        results = self._format_results(kept, self.n_splits_, outs)
        self.multimetric_ = isinstance(outs[0]["test_scores"], dict)
        if self.multimetric_:
            refit_metric = self.refit
        if self.refit or not self.multimetric_:
            self.best_index_ = self._select_best_index(self.refit, refit_metric, results)
            if not callable(self.refit):
                self.best_score_ = results[f"mean_test_{refit_metric}"][self.best_index_]
            self.best_params_ = results["params"][self.best_index_]
        if self.refit:
            self.best_estimator_ = clone(base).set_params(**self.best_params_)
            begin = time.time()
            fit_params = {k: v for k, v in params.items()}
            if y is None:
                self.best_estimator_.fit(X, **fit_params)
            else:
                self.best_estimator_.fit(X, y, **fit_params)
            self.refit_time_ = time.time() - begin
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
        self.scorer_ = getattr(scorers, "_scorers", scorers)
        self.cv_results_ = results
        return self


def _folds(search: DialedSearchCV, trial: Trial, estimator: Any, X: Any, y: Any,
           splits: Sequence[tuple[Any, Any]], scorers: Any, params: Mapping[str, Any],
           classes: Any) -> list[dict[str, Any]]:
    """Fit and score fold after fold; report the running mean; stop when the pruner says."""
    outs: list[dict[str, Any]] = []
    for step, (train, test) in enumerate(splits):
        model = clone(estimator)
        begin = time.perf_counter()
        _fit(model, X, y, train, params)
        outs.append(_score(search, model, X, y, train, test, scorers, time.perf_counter() - begin))
        value = _objective(outs[-1]["test_scores"], search)
        running = float(np.mean([_objective(o["test_scores"], search) for o in outs]))
        if not np.isfinite(value):
            raise ValueError(f"fold {step} scored {value}")
        if step < len(splits) - 1 and report_and_check(trial, running, step):
            raise stop_trial(trial, step, _OWNER)
        if step == len(splits) - 1:
            trial.report(running, step)
    return outs


def _epochs(search: DialedSearchCV, trial: Trial, estimator: Any, X: Any, y: Any,
            splits: Sequence[tuple[Any, Any]], scorers: Any, params: Mapping[str, Any],
            classes: Any) -> list[dict[str, Any]]:
    """``partial_fit`` every fold's model one epoch at a time; report the mean over folds."""
    models = [clone(estimator) for _ in splits]
    fit_time = [0.0] * len(splits)
    outs: list[dict[str, Any]] = []
    extra = {} if classes is None else {"classes": classes}
    for epoch in range(search.max_epochs):
        outs = []
        for k, (train, test) in enumerate(splits):
            begin = time.perf_counter()
            _fit(models[k], X, y, train, {**params, **extra}, method="partial_fit")
            fit_time[k] += time.perf_counter() - begin
            outs.append(_score(search, models[k], X, y, train, test, scorers, fit_time[k]))
        mean = float(np.mean([_objective(o["test_scores"], search) for o in outs]))
        if epoch < search.max_epochs - 1 and report_and_check(trial, mean, epoch):
            raise stop_trial(trial, epoch, _OWNER)
        if epoch == search.max_epochs - 1:
            trial.report(mean, epoch)
    return outs


def _fit(model: Any, X: Any, y: Any, rows: Any, params: Mapping[str, Any],
         method: str = "fit") -> None:
    n = len(X) if hasattr(X, "__len__") else X.shape[0]
    split = {k: _safe_indexing(v, rows) if _aligned(v, n) else v for k, v in params.items()}
    X_rows = _safe_indexing(X, rows)
    if y is None:
        getattr(model, method)(X_rows, **split)
    else:
        getattr(model, method)(X_rows, _safe_indexing(y, rows), **split)


def _aligned(value: Any, n: int) -> bool:
    return hasattr(value, "__len__") and not isinstance(value, str) and len(value) == n


def _score(search: DialedSearchCV, model: Any, X: Any, y: Any, train: Any, test: Any,
           scorers: Any, fit_time: float) -> dict[str, Any]:
    begin = time.perf_counter()
    y_test = None if y is None else _safe_indexing(y, test)
    test_scores = scorers(model, _safe_indexing(X, test), y_test)
    out: dict[str, Any] = {"fit_time": fit_time, "score_time": time.perf_counter() - begin,
                           "test_scores": test_scores, "n_test_samples": len(test),
                           "fit_error": None}
    if search.return_train_score:
        y_train = None if y is None else _safe_indexing(y, train)
        out["train_scores"] = scorers(model, _safe_indexing(X, train), y_train)
    return out


def _objective(scores: Any, search: DialedSearchCV) -> float:
    if not isinstance(scores, dict):
        return float(scores)
    # a callable scoring that returns a dict: its first metric unless refit names one
    return float(scores.get(search._metric_, next(iter(scores.values()))))


def _fold_means(outs: Sequence[dict[str, Any]]) -> dict[str, float]:
    first = outs[0]["test_scores"]
    if isinstance(first, dict):
        return {k: float(np.mean([o["test_scores"][k] for o in outs])) for k in first}
    return {"score": float(np.mean([o["test_scores"] for o in outs]))}


def _means(results: Mapping[str, Any], row: int, key: str, metric: str) -> dict[str, float]:
    """The candidate's mean test scores, under the study's metric name for the objective."""
    if key not in results:  # a callable scoring that returned a dict: its first metric
        key = next(k for k in results if k.startswith("mean_test_"))
    out = {metric: float(results[key][row])}
    for name, column in results.items():
        if name.startswith("mean_test_") and name != key:
            out[name.removeprefix("mean_test_")] = float(column[row])
    return out


def _tell(study: Study, trial: Trial, values: dict[str, float]) -> None:
    bad = [k for k, v in values.items() if not np.isfinite(v)]
    if bad:
        study.tell(trial, state=TrialState.FAILED,
                   error=f"non-finite mean test score for {', '.join(bad)} (a fit failed)")
    else:
        study.tell(trial, values)


# -- settings ---------------------------------------------------------------------------------
def _as_space(space: Any) -> Space:
    if isinstance(space, Space):
        return space
    if not isinstance(space, Mapping) or not space:
        raise ConfigError(
            f"{_OWNER}: space must be a non-empty mapping of parameter names to ranges, such as "
            "{'C': {'type': 'float', 'low': 0.01, 'high': 100, 'log': True}}, "
            f"got {space!r}"
        )
    return Space(space)


def _single(scoring: Any) -> bool:
    return scoring is None or isinstance(scoring, str) or callable(scoring)


def _scorer_names(scoring: Any, refit: Any) -> list[str]:
    """The study's metric names, the objective first: the refit metric, else the first."""
    if scoring is None or callable(scoring):
        return ["score"]
    if isinstance(scoring, str):
        return [scoring]
    names = [str(n) for n in (scoring.keys() if isinstance(scoring, Mapping) else scoring)]
    if isinstance(refit, str) and refit in names:
        names.remove(refit)
        names.insert(0, refit)
    return names


def _check_scoring(scoring: Any) -> None:
    """A scoring name scikit-learn does not know is one line, with the nearest it does."""
    if scoring is None or callable(scoring):
        return
    if isinstance(scoring, str):
        named = [scoring]
    elif isinstance(scoring, Mapping):
        named = [v for v in scoring.values() if isinstance(v, str)]
    elif isinstance(scoring, (list, tuple, set)):
        named = list(scoring)
    else:
        raise ConfigError(
            f"{_OWNER}: scoring must be a scorer name, a callable, a list of names or a dict of "
            f"name -> scorer, got {type(scoring).__name__}"
        )
    known = set(get_scorer_names())
    for name in named:
        if not isinstance(name, str) or name not in known:
            near = difflib.get_close_matches(str(name), sorted(known), n=3)
            hint = f"did you mean {', '.join(repr(n) for n in near)}?" if near else (
                "see sklearn.metrics.get_scorer_names()")
            raise ConfigError(f"{_OWNER}: scoring {name!r} is not a scikit-learn scorer; {hint}")
