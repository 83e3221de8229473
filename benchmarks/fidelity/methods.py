"""The methods compared: dialed's pruners and Optuna's, each run to the same epoch budget.

Every method runs its trials one after another (ask, train epoch by epoch with a report and a
``should_prune`` after each, tell) until the epochs consumed reach the budget; a trial stopped
by the budget mid-way is not counted. The record of a run lists, in order, each trial's epochs
and, for a trial trained to the full budget, its final validation loss; the best final loss so
far against cumulative epochs is the method's anytime curve.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from benchmarks.fidelity.problems import Problem, suggest

#: The methods, in report order: (name, library, description).
METHODS: list[tuple[str, str, str]] = [
    ("full-budget", "dialed", "random search (a seed stream of its own), every trial to the "
     "full budget (no stopping)"),
    ("dialed-median", "dialed", "random search + median stopping rule"),
    ("dialed-asha", "dialed", "random search + ASHA"),
    ("dialed-hyperband", "dialed", "random search + Hyperband"),
    ("dialed-tpe-hyperband", "dialed", "TPE + Hyperband, BOHB-style sampler view"),
    ("dialed-tpe-asha", "dialed", "TPE + ASHA, BOHB-style sampler view"),
    ("dialed-bohb-asha", "dialed", "TPE for two trials in three, random search for the third "
     "(BOHB's random fraction of 1/3), + ASHA, BOHB-style sampler view"),
    ("dialed-auto", "dialed", "dialed's defaults (`auto` sampler and `auto` pruner), as a user "
     "gets them by declaring the resource"),
    ("dialed-auto-full", "dialed", "the same `auto` sampler with no resource declared and no "
     "pruning: every trial to the full budget"),
    ("optuna-median", "optuna", "Optuna default sampler (TPE) + MedianPruner"),
    ("optuna-hyperband", "optuna", "Optuna default sampler (TPE) + HyperbandPruner"),
]

Curve = Callable[[dict[str, Any], int], Iterator[float]]

#: BOHB (Falkner et al. 2018, Alg. 2) draws a fraction 1/3 of its configurations at random.
BOHB_MEMBERS = ("tpe", "random", "tpe")

#: The full-budget search samples with seed + this, independent of the other methods' seeds.
BASELINE_SEED_OFFSET = 10_000


class _Budget(Exception):
    """The epoch budget ran out in the middle of a trial."""


class _Meter:
    """Epochs and training seconds consumed, against a budget."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.epochs = 0
        self.train_seconds = 0.0
        self.trials: list[dict[str, Any]] = []

    def train(self, curve: Iterator[float]) -> float:
        if self.epochs >= self.budget:
            raise _Budget
        t0 = time.perf_counter()
        loss = next(curve)
        self.train_seconds += time.perf_counter() - t0
        self.epochs += 1
        return loss


def tpe_sampler(seed: int) -> tuple[Any, str]:
    """dialed's TPE when registered, else random (with a note saying so)."""
    from dialed.errors import ConfigError
    from dialed.samplers import make_sampler

    try:
        return make_sampler("tpe", seed=seed), ""
    except ConfigError:
        return make_sampler("random", seed=seed), (
            "dialed's TPE sampler is not registered in this checkout: dialed-tpe-hyperband "
            "ran with the random sampler"
        )


def run_method(method: str, problem: Problem, curve_of: Curve, seed: int,
               budget: int) -> dict[str, Any]:
    """One method on one problem and seed, until ``budget`` epochs are consumed."""
    meter = _Meter(budget)
    t0 = time.perf_counter()
    note = ""
    if method.startswith("optuna"):
        _run_optuna(method, problem, curve_of, seed, meter)
    elif method == "full-budget":
        # Exactly budget / max_epochs full trials; nothing is stopped. Its own seed: the
        # baseline must not draw the very configurations dialed's random-search methods
        # draw first (that would hand them its best one).
        _run_dialed(problem, curve_of, seed + BASELINE_SEED_OFFSET, meter, pruner="none",
                    sampler="random")
    else:
        pruner: Any = {"dialed-median": "median", "dialed-asha": "asha",
                       "dialed-tpe-asha": "asha", "dialed-bohb-asha": "asha",
                       "dialed-auto": "auto", "dialed-auto-full": "none"}.get(method, "hyperband")
        sampler: Any = "auto" if method.startswith("dialed-auto") else "random"
        if method.startswith("dialed-tpe-"):
            sampler, note = tpe_sampler(seed)
        elif method == "dialed-bohb-asha":
            from dialed.samplers import PortfolioSampler

            sampler = PortfolioSampler(seed, members=BOHB_MEMBERS)
        _run_dialed(problem, curve_of, seed, meter, pruner=pruner, sampler=sampler,
                    resource=method != "dialed-auto-full")
    return {
        "method": method, "problem": problem.name, "seed": seed, "budget": budget,
        "trials": meter.trials, "epochs": meter.epochs,
        "wall_seconds": time.perf_counter() - t0, "train_seconds": meter.train_seconds,
        "note": note,
    }


def _objective(problem: Problem, curve_of: Curve, meter: _Meter, trial: Any, model_seed: int,
               pruned: type[BaseException]) -> tuple[float, int]:
    params = suggest(trial, problem.space)
    curve = curve_of(params, model_seed)
    loss = float("nan")
    start = meter.epochs
    for epoch in range(1, problem.max_epochs + 1):
        loss = meter.train(curve)
        trial.report(loss, epoch)
        if trial.should_prune():
            meter.trials.append({"epochs": meter.epochs - start, "final": None})
            raise pruned()
    meter.trials.append({"epochs": meter.epochs - start, "final": loss})
    return loss, meter.epochs - start


def _run_dialed(problem: Problem, curve_of: Curve, seed: int, meter: _Meter, *, pruner: Any,
                sampler: Any, resource: bool = True) -> None:
    import dialed

    study = dialed.create_study(
        f"{problem.name}-{seed}", sampler=sampler, pruner=pruner, seed=seed,
        resource={"name": "epochs", "min": problem.min_epochs, "max": problem.max_epochs,
                  "reduction_factor": problem.eta} if resource else None,
    )
    while meter.epochs < meter.budget:
        trial = study.ask()
        try:
            loss, _ = _objective(problem, curve_of, meter, trial, trial.seed, dialed.Pruned)
        except dialed.Pruned:
            study.tell(trial, state="pruned")
        except _Budget:
            study.tell(trial, state="failed", error="epoch budget spent")
            break
        else:
            study.tell(trial, loss)


def _run_optuna(method: str, problem: Problem, curve_of: Curve, seed: int,
                meter: _Meter) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pruner: Any
    if method == "optuna-median":
        pruner = optuna.pruners.MedianPruner()
    else:
        pruner = optuna.pruners.HyperbandPruner(
            min_resource=problem.min_epochs, max_resource=problem.max_epochs,
            reduction_factor=problem.eta,
        )
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed), pruner=pruner,
                                study_name=f"{problem.name}-{seed}")
    while meter.epochs < meter.budget:
        trial = study.ask()
        try:
            loss, _ = _objective(problem, curve_of, meter, trial, seed * 100_003 + trial.number,
                                 optuna.TrialPruned)
        except optuna.TrialPruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        except _Budget:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            break
        else:
            study.tell(trial, loss)
