"""PBT against ASHA and random search where a schedule of settings matters (issue 22, part 3).

Tasks:

* ``toy-quadratic``: the toy problem of Jaderberg et al. (2017), section 4.1. Parameters
  ``theta`` start at (0.9, 0.9); each step is gradient ascent (step size 0.01) on the surrogate
  ``1.2 - (h0 theta0^2 + h1 theta1^2)`` whose weights ``h`` are the hyperparameters in
  ``[0, 1]^2``; the value is the true ``Q = 1.2 - |theta|^2`` (maximised; its optimum 1.2).
  It is reported here as the loss ``1.2 - Q = |theta|^2``.
* ``sgd-schedule``: scikit-learn ``SGDRegressor`` with a constant learning rate ``eta0`` and
  an L2 penalty ``alpha`` (both searched, log scale), one ``partial_fit`` call on a minibatch
  of 200 an epoch, on a noisy linear regression with ill-conditioned features (2000 training
  samples, 20 features scaled from 1 to 0.05, noise 0.5 around a unit signal); the loss is the
  validation MSE over the variance of the target (``1 - R^2``; the noise alone gives 0.2). A
  constant rate trades speed on the small directions for a noise floor on the large ones, so
  a rate that falls during training wins (measured while building this task: the best constant
  rate 0.239, a rate decayed by 0.85 an epoch 0.226). PBT's members can lower their rate round
  by round; a trial of ASHA or random search keeps the rate it drew.

Every method gets the same epochs: PBT trains ``population`` members for ``max_epochs``
(rounds of ``interval`` epochs, checkpoints each epoch); random search trains
``population`` configurations to ``max_epochs``; ASHA (dialed's, in its stopping form, with
the random sampler) trains until the same number of epochs is spent. The score is the best
loss at the full budget. Target: PBT beats both on both tasks (median over seeds).

    PYTHONPATH=src python benchmarks/fidelity/pbt.py --quick      # the section alone
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for _path in (ROOT, ROOT / "src"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import numpy as np  # noqa: E402

METHODS = ("pbt", "asha", "random")


@dataclass
class Task:
    name: str
    space: dict[str, tuple[float, float, bool]]  # name -> (low, high, log)
    start: Callable[[int], Any]  # model seed -> state
    epoch: Callable[[Any, dict[str, Any], int], tuple[Any, float]]  # one epoch: state, loss


def toy_quadratic() -> Task:
    def start(seed: int) -> Any:
        return np.array([0.9, 0.9])

    def epoch(theta: Any, params: dict[str, Any], e: int) -> tuple[Any, float]:
        h = np.array([params["h0"], params["h1"]])
        theta = theta + 0.01 * (-2.0 * h * theta)
        return theta, float(theta @ theta)

    return Task("toy-quadratic", {"h0": (0.0, 1.0, False), "h1": (0.0, 1.0, False)}, start,
                epoch)


def sgd_schedule(seed: int) -> Task:
    rng = np.random.default_rng(seed)
    n, d = 3000, 20
    x = rng.normal(size=(n, d)) * np.geomspace(1.0, 0.05, d)  # ill-conditioned features
    w = rng.normal(size=d)
    signal = x @ w
    y = signal / np.std(signal) + rng.normal(scale=0.5, size=n)
    xtr, xva, ytr, yva = x[:2000], x[2000:], y[:2000], y[2000:]
    var = float(np.var(yva))

    def start(model_seed: int) -> Any:
        from sklearn.linear_model import SGDRegressor

        return SGDRegressor(learning_rate="constant", random_state=model_seed % (2**31))

    def epoch(model: Any, params: dict[str, Any], e: int) -> tuple[Any, float]:
        model.set_params(eta0=params["eta0"], alpha=params["alpha"])
        batch = np.random.default_rng([seed, e]).choice(len(xtr), 200, replace=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a diverging rate overflows: its loss says so
            model.partial_fit(xtr[batch], ytr[batch])
            err = float(np.mean((model.predict(xva) - yva) ** 2)) / var
        return model, min(err, 1e6) if np.isfinite(err) else 1e6

    return Task("sgd-schedule", {"eta0": (1e-4, 0.5, True), "alpha": (1e-7, 1e-2, True)},
                start, epoch)


class _Spent(Exception):
    """The epoch budget ran out."""


def run(task: Task, method: str, *, seed: int, population: int, max_epochs: int,
        interval: int) -> dict[str, Any]:
    """One method on one task and seed; the best full-budget loss and the epochs spent."""
    import dialed

    budget = population * max_epochs
    spent = [0]
    use_ckpt = method == "pbt"

    def objective(trial: dialed.Trial) -> float:
        params = {k: trial.suggest_float(k, lo, hi, log=log)
                  for k, (lo, hi, log) in task.space.items()}
        ck = trial.load_checkpoint() if use_ckpt else None
        e, state = (ck["epoch"], ck["state"]) if ck else (0, task.start(trial.seed))
        loss = float("nan")
        while e < max_epochs:
            if spent[0] >= budget:
                raise _Spent
            e += 1
            state, loss = task.epoch(state, params, e)
            spent[0] += 1
            trial.report(loss, e)
            if use_ckpt:
                trial.save_checkpoint({"epoch": e, "state": state})
            if trial.should_prune():
                raise dialed.Pruned()
        return loss

    resource = {"name": "epochs", "min": 1, "max": max_epochs, "reduction_factor": 3}
    pruner: Any = {"pbt": {"name": "pbt", "population": population, "interval": interval,
                           "seed": seed},
                   "asha": "asha", "random": "none"}[method]
    study = dialed.create_study(sampler="random", seed=seed, pruner=pruner, resource=resource)
    n_trials = {"pbt": population * (max_epochs // interval), "random": population,
                "asha": None}[method]
    t0 = time.perf_counter()
    with contextlib.suppress(_Spent):
        study.optimize(objective, n_trials=n_trials if n_trials is not None else 10_000)
    done = [t.metrics[study.metrics.primary.name] for t in study.trials
            if t.state.value == "complete"]
    return {"best": min(done) if done else float("inf"), "epochs": spent[0],
            "trials": len(study.trials), "seconds": time.perf_counter() - t0}


def pbt_section(quick: bool, seeds: list[int]) -> tuple[list[str], list[tuple[str, bool]]]:
    population, max_epochs, interval = 10, 60, 4  # --quick runs fewer seeds only
    lines = [f"Population {population}, {max_epochs} epochs in rounds of {interval} (PBT: "
             f"quantile 0.25, resample probability 0.25, perturbation x0.8 / x1.2); every "
             f"method spends {population * max_epochs} epochs; the random sampler founds "
             f"PBT's population and draws ASHA's and random search's configurations. Loss: "
             f"lower is better.", "",
             "| task | seeds | PBT (median best loss) | ASHA | random search | PBT better "
             "than ASHA (seeds) | PBT better than random (seeds) | epochs (PBT / ASHA / "
             "random) |", "|---|---|---|---|---|---|---|---|"]
    targets: list[tuple[str, bool]] = []
    for make in (lambda s: toy_quadratic(), sgd_schedule):
        best: dict[str, list[float]] = {m: [] for m in METHODS}
        epochs: dict[str, list[int]] = {m: [] for m in METHODS}
        name = ""
        for seed in seeds:
            task = make(seed)
            name = task.name
            for method in METHODS:
                out = run(task, method, seed=seed, population=population,
                          max_epochs=max_epochs, interval=interval)
                best[method].append(out["best"])
                epochs[method].append(out["epochs"])
        med = {m: statistics.median(v) for m, v in best.items()}
        wins = {m: sum(p < o for p, o in zip(best["pbt"], best[m], strict=True))
                for m in ("asha", "random")}
        lines.append(
            f"| {name} | {len(seeds)} | {med['pbt']:.4g} | {med['asha']:.4g} | "
            f"{med['random']:.4g} | {wins['asha']} of {len(seeds)} | {wins['random']} of "
            f"{len(seeds)} | {statistics.median(epochs['pbt']):.0f} / "
            f"{statistics.median(epochs['asha']):.0f} / "
            f"{statistics.median(epochs['random']):.0f} |")
        print(lines[-1], flush=True)
        ok = med["pbt"] < med["asha"] and med["pbt"] < med["random"]
        targets.append((f"PBT beats ASHA and random search on {name} (median best loss "
                        f"{med['pbt']:.4g} against {med['asha']:.4g} and {med['random']:.4g})",
                        ok))
    return lines, targets


if __name__ == "__main__":
    from benchmarks.fidelity.checkpoints import main

    raise SystemExit(main(["--part", "pbt", *sys.argv[1:]]))
