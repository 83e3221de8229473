"""Integrations beside Optuna's: LightGBM pruning, and search estimators at equal fits.

Part A, LightGBM on a generated binary task (``make_classification``, 3,000 rows, 20
features, 8 informative; 2,000 to train, 1,000 to validate). Every trial trains up to ``R``
boosting rounds on one thread over the same five parameters (learning rate, leaves, minimum
child samples, L2, feature fraction) and returns the best validation logloss over its rounds.
Four methods, each for ``N`` trials and each seed:

* dialed, its default sampler, no pruning;
* dialed, its default sampler, ``dialed.integrations.lightgbm.PruningCallback`` with the
  study's resource declared as ``boosting_rounds`` (the default pruner then runs ASHA);
* Optuna, its default sampler (TPE), no pruning;
* Optuna, TPE, ``optuna_integration.LightGBMPruningCallback`` with the MedianPruner of
  Optuna's own LightGBM example (``n_warmup_steps=10``);
* and, since the two pruned searches spend different numbers of rounds for N trials, dialed
  with the callback once more, running trials until it has spent the rounds Optuna's pruned
  search spent on that seed (at most 10 N trials): the comparison at equal rounds.

Rounds spent are counted by one more callback in every training; the best validation logloss
is the study's best value.

Part B, search estimators at equal fits: an RBF ``SVC`` on a generated task (800 rows, 20
features; a quarter held out), ``C`` and ``gamma`` on log scales, 3-fold CV, ``N`` candidates
each: ``DialedSearchCV`` (default sampler), ``RandomizedSearchCV`` (log-uniform) and Optuna's
``OptunaSearchCV`` (TPE). Reported: the best CV accuracy, the refitted model's held-out
accuracy and the process CPU time of the search.

Medians over seeds; the same seeds and data for every method.

    PYTHONPATH=src python -m benchmarks.integrations.run --quick   # N=20, R=100, 3 seeds
    PYTHONPATH=src python -m benchmarks.integrations.run           # N=40, R=200, 5 seeds
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import lightgbm as lgb  # noqa: E402
import numpy as np  # noqa: E402
import optuna  # noqa: E402
import optuna_integration  # noqa: E402
import sklearn  # noqa: E402
from scipy.stats import loguniform  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.model_selection import RandomizedSearchCV, train_test_split  # noqa: E402
from sklearn.svm import SVC  # noqa: E402

import dialed  # noqa: E402
from dialed.integrations.lightgbm import PruningCallback  # noqa: E402
from dialed.integrations.sklearn import DialedSearchCV  # noqa: E402

RESULTS = Path(__file__).resolve().parents[1] / "results" / "integrations.md"
optuna.logging.set_verbosity(optuna.logging.WARNING)


# -- part A: LightGBM ---------------------------------------------------------------------------
class _Rounds:
    """Counts the boosting rounds a training ran (first among the callbacks)."""

    def __init__(self) -> None:
        self.n = 0
        self.order = 1
        self.before_iteration = False

    def __call__(self, env: Any) -> None:
        self.n += 1


def _lgb_data(seed: int) -> tuple[lgb.Dataset, lgb.Dataset]:
    X, y = make_classification(n_samples=3000, n_features=20, n_informative=8, flip_y=0.05,
                               random_state=seed)
    X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=1 / 3, random_state=seed)
    train = lgb.Dataset(X_tr, y_tr, free_raw_data=False,
                        params={"feature_pre_filter": False, "verbosity": -1})
    valid = lgb.Dataset(X_va, y_va, reference=train, free_raw_data=False,
                        params={"feature_pre_filter": False, "verbosity": -1})
    return train, valid


def _lgb_train(params: dict[str, Any], train: lgb.Dataset, valid: lgb.Dataset, rounds: int,
               counter: _Rounds, extra: list[Any]) -> float:
    log: dict[str, Any] = {}
    lgb.train({"objective": "binary", "verbosity": -1, "num_threads": 1, **params}, train,
              num_boost_round=rounds, valid_sets=[valid],
              callbacks=[counter, lgb.record_evaluation(log), *extra])
    return float(min(log["valid_0"]["binary_logloss"]))


def _dialed_lgb(seed: int, n: int, rounds: int, prune: bool,
                budget: float | None = None) -> dict[str, float]:
    """``budget``: instead of ``n`` trials, run trials until that many rounds are spent."""
    train, valid = _lgb_data(seed)
    counter = _Rounds()
    study = dialed.create_study(
        direction="minimize", seed=seed, pruner=None if prune else "none",
        resource={"name": "boosting_rounds", "max": rounds} if prune else None)

    def objective(trial: dialed.Trial) -> float:
        params = {
            "learning_rate": trial.suggest_float("learning_rate", 1e-3, 0.3, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 4, 128, log=True),
            "min_child_samples": trial.suggest_int("min_child_samples", 5, 100, log=True),
            "lambda_l2": trial.suggest_float("lambda_l2", 1e-8, 10.0, log=True),
            "feature_fraction": trial.suggest_float("feature_fraction", 0.4, 1.0),
            "seed": trial.seed % 2**31,
        }
        extra = [PruningCallback(trial, "binary_logloss")] if prune else []
        return _lgb_train(params, train, valid, rounds, counter, extra)

    begin = time.perf_counter()
    if budget is None:
        study.optimize(objective, n_trials=n)
    else:
        while counter.n < budget and len(study.trials) < 10 * n:
            study.optimize(objective, n_trials=1)
    pruned = sum(t.state.value == "pruned" for t in study.trials)
    return {"best": study.best_value, "rounds": counter.n, "pruned": pruned,
            "trials": len(study.trials), "wall": time.perf_counter() - begin}


def _optuna_lgb(seed: int, n: int, rounds: int, prune: bool) -> dict[str, float]:
    train, valid = _lgb_data(seed)
    counter = _Rounds()
    pruner = (optuna.pruners.MedianPruner(n_warmup_steps=10) if prune
              else optuna.pruners.NopPruner())
    study = optuna.create_study(direction="minimize", pruner=pruner,
                                sampler=optuna.samplers.TPESampler(seed=seed))

    def objective(trial: optuna.Trial) -> float:
        params = {
            "learning_rate": trial.suggest_float("learning_rate", 1e-3, 0.3, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 4, 128, log=True),
            "min_child_samples": trial.suggest_int("min_child_samples", 5, 100, log=True),
            "lambda_l2": trial.suggest_float("lambda_l2", 1e-8, 10.0, log=True),
            "feature_fraction": trial.suggest_float("feature_fraction", 0.4, 1.0),
            "seed": trial.number + seed * 1000,
        }
        extra = ([optuna_integration.LightGBMPruningCallback(trial, "binary_logloss")]
                 if prune else [])
        return _lgb_train(params, train, valid, rounds, counter, extra)

    begin = time.perf_counter()
    study.optimize(objective, n_trials=n)
    pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    return {"best": study.best_value, "rounds": counter.n, "pruned": pruned,
            "trials": len(study.trials), "wall": time.perf_counter() - begin}


# -- part B: search estimators ------------------------------------------------------------------
def _svc_data(seed: int) -> tuple[np.ndarray, ...]:
    X, y = make_classification(n_samples=800, n_features=20, n_informative=6, flip_y=0.03,
                               random_state=seed)
    return tuple(train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y))


def _search(make: Callable[[int, int], Any], seed: int, n: int) -> dict[str, float]:
    X_tr, X_te, y_tr, y_te = _svc_data(seed)
    search = make(seed, n)
    cpu, begin = time.process_time(), time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X_tr, y_tr)
    return {"best": float(search.best_score_), "test": float(search.score(X_te, y_te)),
            "cpu": time.process_time() - cpu, "wall": time.perf_counter() - begin}


def _make_dialed(seed: int, n: int) -> Any:
    space = {"C": {"type": "float", "low": 1e-3, "high": 1e3, "log": True},
             "gamma": {"type": "float", "low": 1e-4, "high": 10.0, "log": True}}
    return DialedSearchCV(SVC(), space, n_trials=n, cv=3, seed=seed)


def _make_random(seed: int, n: int) -> Any:
    space = {"C": loguniform(1e-3, 1e3), "gamma": loguniform(1e-4, 10.0)}
    return RandomizedSearchCV(SVC(), space, n_iter=n, cv=3, random_state=seed)


def _make_optuna(seed: int, n: int) -> Any:
    from optuna.distributions import FloatDistribution

    space = {"C": FloatDistribution(1e-3, 1e3, log=True),
             "gamma": FloatDistribution(1e-4, 10.0, log=True)}
    return optuna_integration.OptunaSearchCV(SVC(), space, n_trials=n, cv=3, random_state=seed,
                                             verbose=0)


# -- report ---------------------------------------------------------------------------------------
def _med(rows: list[dict[str, float]], key: str) -> float:
    return float(statistics.median(r[key] for r in rows))


def _target(ok: bool, text: str) -> str:
    return f"- **{'PASS' if ok else 'FAIL'}**: {text}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N=20, R=100, 3 seeds")
    args = parser.parse_args(argv)
    n, rounds, seeds = (20, 100, [0, 1, 2]) if args.quick else (40, 200, [0, 1, 2, 3, 4])
    started = time.perf_counter()

    lgb_methods: dict[str, Callable[[int], dict[str, float]]] = {
        "dialed, no pruning": lambda s: _dialed_lgb(s, n, rounds, prune=False),
        "dialed + PruningCallback": lambda s: _dialed_lgb(s, n, rounds, prune=True),
        "Optuna TPE, no pruning": lambda s: _optuna_lgb(s, n, rounds, prune=False),
        "Optuna TPE + LightGBMPruningCallback": lambda s: _optuna_lgb(s, n, rounds, prune=True),
    }
    lgb_rows: dict[str, list[dict[str, float]]] = {k: [] for k in lgb_methods}
    equal = "dialed + PruningCallback, trials until Optuna + callback's rounds are spent"
    lgb_rows[equal] = []
    for seed in seeds:
        for name, run in lgb_methods.items():
            lgb_rows[name].append(run(seed))
            print(f"A seed {seed} {name}: {lgb_rows[name][-1]}", file=sys.stderr, flush=True)
        budget = lgb_rows["Optuna TPE + LightGBMPruningCallback"][-1]["rounds"]
        lgb_rows[equal].append(_dialed_lgb(seed, n, rounds, prune=True, budget=budget))
        print(f"A seed {seed} {equal}: {lgb_rows[equal][-1]}", file=sys.stderr, flush=True)

    cv_methods = {"DialedSearchCV": _make_dialed, "RandomizedSearchCV": _make_random,
                  "OptunaSearchCV": _make_optuna}
    cv_rows: dict[str, list[dict[str, float]]] = {k: [] for k in cv_methods}
    for seed in seeds:
        for name, make in cv_methods.items():
            cv_rows[name].append(_search(make, seed, n))
            print(f"B seed {seed} {name}: {cv_rows[name][-1]}", file=sys.stderr, flush=True)

    d_no, d_pr = lgb_rows["dialed, no pruning"], lgb_rows["dialed + PruningCallback"]
    o_no = lgb_rows["Optuna TPE, no pruning"]
    o_pr = lgb_rows["Optuna TPE + LightGBMPruningCallback"]
    saved = _med(d_pr, "rounds") / _med(d_no, "rounds")
    quality = _med(d_pr, "best") / _med(d_no, "best")
    vs_optuna = _med(d_pr, "best") / _med(o_pr, "best")
    d_eq = lgb_rows[equal]
    vs_optuna_eq = _med(d_eq, "best") / _med(o_pr, "best")
    dcv, rcv, ocv = cv_rows["DialedSearchCV"], cv_rows["RandomizedSearchCV"], \
        cv_rows["OptunaSearchCV"]
    cpu_ratio = _med(dcv, "cpu") / _med(rcv, "cpu")
    targets = [
        _target(saved <= 0.6, f"the pruning callback spends at most 60% of the boosting rounds "
                f"of the same dialed search without it: {_med(d_pr, 'rounds'):.0f} vs "
                f"{_med(d_no, 'rounds'):.0f} (ratio {saved:.2f})"),
        _target(quality <= 1.02, f"and keeps the best validation logloss within 2%: "
                f"{_med(d_pr, 'best'):.4f} vs {_med(d_no, 'best'):.4f} (ratio {quality:.3f})"),
        _target(vs_optuna <= 1.02, f"dialed + PruningCallback's best validation logloss is "
                f"within 2% of Optuna + LightGBMPruningCallback's: {_med(d_pr, 'best'):.4f} vs "
                f"{_med(o_pr, 'best'):.4f} (ratio {vs_optuna:.3f}; rounds "
                f"{_med(d_pr, 'rounds'):.0f} vs {_med(o_pr, 'rounds'):.0f})"),
        _target(vs_optuna_eq <= 1.02, f"at the rounds Optuna + LightGBMPruningCallback spent "
                f"(dialed runs more trials until it has spent as many), dialed's best is within "
                f"2% of Optuna's: {_med(d_eq, 'best'):.4f} vs {_med(o_pr, 'best'):.4f} (ratio "
                f"{vs_optuna_eq:.3f}; {_med(d_eq, 'rounds'):.0f} rounds in "
                f"{_med(d_eq, 'trials'):.0f} trials)"),
        _target(_med(dcv, "best") >= _med(rcv, "best") - 0.005,
                f"DialedSearchCV's best CV accuracy at equal fits is at least "
                f"RandomizedSearchCV's - 0.005: {_med(dcv, 'best'):.4f} vs "
                f"{_med(rcv, 'best'):.4f}"),
        _target(_med(dcv, "best") >= _med(ocv, "best") - 0.005,
                f"and at least OptunaSearchCV's - 0.005: {_med(dcv, 'best'):.4f} vs "
                f"{_med(ocv, 'best'):.4f}"),
        _target(cpu_ratio <= 1.5, f"DialedSearchCV's CPU time is at most 1.5x "
                f"RandomizedSearchCV's (the study's overhead): {_med(dcv, 'cpu'):.2f} s vs "
                f"{_med(rcv, 'cpu'):.2f} s (ratio {cpu_ratio:.2f})"),
    ]
    command = "PYTHONPATH=src nice -n 10 python -m benchmarks.integrations.run" + (
        " --quick" if args.quick else "")
    lines = [
        "# Integrations: LightGBM pruning and search estimators, dialed beside Optuna",
        "",
        f"- command: `{command}`",
        f"- date: {dt.date.today().isoformat()}; took "
        f"{(time.perf_counter() - started) / 60:.1f} min",
        f"- machine: {os.cpu_count()} CPU cores shared with other work (wall times are "
        f"indicative), {platform.platform()}, Python {platform.python_version()}; one thread "
        "everywhere",
        f"- packages: dialed {dialed.__version__}, optuna {optuna.__version__}, "
        f"optuna-integration {getattr(optuna_integration, '__version__', '?')}, "
        f"lightgbm {lgb.__version__}, scikit-learn {sklearn.__version__}",
        f"- budget: N = {n} trials per study, up to R = {rounds} boosting rounds per trial, "
        f"seeds {seeds}; medians over seeds. Method and data: the docstring of "
        "`benchmarks/integrations/run.py`.",
        "",
        "## Targets",
        "",
        *targets,
        "",
        "## A. LightGBM, the same budget with and without a pruning callback",
        "",
        "| method | trials | boosting rounds spent | of N x R | trials pruned "
        "| best valid logloss | wall s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, rows in lgb_rows.items():
        lines.append(f"| {name} | {_med(rows, 'trials'):.0f} | {_med(rows, 'rounds'):.0f} | "
                     f"{_med(rows, 'rounds') / (n * rounds):.2f} | {_med(rows, 'pruned'):.0f} | "
                     f"{_med(rows, 'best'):.4f} | {_med(rows, 'wall'):.1f} |")
    lines += ["", "Per seed (best valid logloss / rounds):", "",
              "| method | " + " | ".join(f"seed {s}" for s in seeds) + " |",
              "|---|" + "---:|" * len(seeds)]
    for name, rows in lgb_rows.items():
        lines.append(f"| {name} | " + " | ".join(
            f"{r['best']:.4f} / {r['rounds']:.0f}" for r in rows) + " |")
    lines += ["", f"Optuna without pruning, for reference: {_med(o_no, 'best'):.4f} in "
              f"{_med(o_no, 'rounds'):.0f} rounds.", "",
              "## B. Search estimators at equal fits (N candidates x 3 folds)", "",
              "| search | best CV accuracy | held-out accuracy | CPU s | wall s |",
              "|---|---:|---:|---:|---:|"]
    for name, rows in cv_rows.items():
        lines.append(f"| {name} | {_med(rows, 'best'):.4f} | {_med(rows, 'test'):.4f} | "
                     f"{_med(rows, 'cpu'):.2f} | {_med(rows, 'wall'):.2f} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
