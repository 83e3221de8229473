"""The methods compared: dialed's samplers and Optuna's, one sequential run each.

* ``dialed-<sampler>``: a dialed study in memory with that sampler (``auto`` is the default
  strategy: what a study given no sampler uses), told the budget as ``n_trials`` like any run.
* ``optuna-nsga2``: ``optuna.samplers.NSGAIISampler`` with its defaults (population 50,
  uniform crossover, probability 0.9).
* ``optuna-default``: the sampler ``optuna.create_study(directions=[...])`` uses when given
  none; in Optuna 5.0 that is ``TPESampler()`` (multivariate, constant liar, the
  multi-objective TPE split with its hypervolume tie-break). It is built here with the same
  defaults and a seed.

With constraints (CONSTR), both Optuna samplers get them through ``constraints_func`` (values
``<= 0`` met), as a user with constraints would give them.

Every method sees the same space and objective; trials run one after another. A run returns
each trial's metrics in order (None for a failed trial) and the time spent outside the
objective (the method's own overhead).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from benchmarks.multiobjective.problems import Problem

Result = dict[str, Any]


def method_names() -> list[str]:
    return ["dialed-auto", "dialed-tpe", "dialed-nsga2", "optuna-default", "optuna-nsga2"]


def run_method(
    method: str, problem: Problem, evaluate: Callable[[dict[str, Any]], dict[str, float]],
    seed: int, n_trials: int,
) -> Result:
    if method.startswith("dialed-"):
        return _run_dialed(method.removeprefix("dialed-"), problem, evaluate, seed, n_trials)
    if method.startswith("optuna-"):
        return _run_optuna(method.removeprefix("optuna-"), problem, evaluate, seed, n_trials)
    raise ValueError(f"unknown method {method!r}")


def _run_dialed(
    sampler: str, problem: Problem, evaluate: Callable[[dict[str, Any]], dict[str, float]],
    seed: int, n_trials: int,
) -> Result:
    import dialed

    space = dialed.Space(problem.space)
    study = dialed.create_study(metrics=problem.metrics, sampler=sampler, seed=seed,
                                space=space, pruner="none")
    spent = [0.0]

    def objective(trial: dialed.Trial) -> dict[str, float]:
        params = trial.suggest_space(space)
        t0 = time.perf_counter()
        out = evaluate(dict(params))
        spent[0] += time.perf_counter() - t0
        return out

    t0 = time.perf_counter()
    study.optimize(objective, n_trials=n_trials)
    total = time.perf_counter() - t0
    values = [dict(t.metrics) if t.state.value == "complete" else None
              for t in sorted(study.trials, key=lambda t: t.number)]
    decision = study.attrs.get("sampler_decision")
    return {"values": values, "overhead_s": total - spent[0], "objective_s": spent[0],
            "decision": decision}


def _run_optuna(
    kind: str, problem: Problem, evaluate: Callable[[dict[str, Any]], dict[str, float]],
    seed: int, n_trials: int,
) -> Result:
    import optuna

    optuna.logging.set_verbosity(logging.WARNING)
    names = [n for n, spec in problem.metrics.items() if spec in ("minimize", "maximize")]
    bounds = {n: spec for n, spec in problem.metrics.items() if n not in names}
    # Constraints as Optuna takes them: values <= 0 are met (given to both samplers).
    constraints = None if not bounds else _optuna_constraints
    if kind == "nsga2":
        sampler: Any = optuna.samplers.NSGAIISampler(seed=seed, constraints_func=constraints)
    elif kind == "default":
        sampler = optuna.samplers.TPESampler(seed=seed, constraints_func=constraints)
    else:
        raise ValueError(f"unknown Optuna method {kind!r}")
    study = optuna.create_study(directions=[problem.metrics[n] for n in names], sampler=sampler)
    dists = {name: _optuna_distribution(spec) for name, spec in problem.space.items()}
    spent = 0.0
    values: list[dict[str, float] | None] = []
    t_all = time.perf_counter()
    for _ in range(n_trials):
        trial = study.ask(dists)
        t0 = time.perf_counter()
        try:
            out = evaluate(dict(trial.params))
        except Exception:  # a failed trial, as dialed records it
            spent += time.perf_counter() - t0
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            values.append(None)
            continue
        spent += time.perf_counter() - t0
        if bounds:
            trial.set_user_attr("constraints", [_excess(out[n], spec)
                                                for n, spec in bounds.items()])
        study.tell(trial, [out[n] for n in names])
        values.append(out)
    total = time.perf_counter() - t_all
    return {"values": values, "overhead_s": total - spent, "objective_s": spent,
            "decision": None}


def _optuna_constraints(trial: Any) -> list[float]:
    return list(trial.user_attrs.get("constraints", []))


def _excess(value: float, spec: str) -> float:
    """How far ``value`` is past a bound such as ``">= 6"`` (<= 0: met), as Optuna wants it."""
    op, bound = spec.split()
    return float(bound) - value if op.startswith(">") else value - float(bound)


def _optuna_distribution(spec: dict[str, Any]) -> Any:
    import optuna

    kind = spec["type"]
    if kind == "float":
        return optuna.distributions.FloatDistribution(spec["low"], spec["high"],
                                                      log=bool(spec.get("log", False)),
                                                      step=spec.get("step"))
    if kind == "int":
        return optuna.distributions.IntDistribution(spec["low"], spec["high"],
                                                    log=bool(spec.get("log", False)),
                                                    step=int(spec.get("step", 1)))
    return optuna.distributions.CategoricalDistribution(spec["choices"])
