"""Checkpoints benchmark (issue 22, parts 2 and 3): resuming promoted trials, and PBT.

Part 2: Hyperband and ASHA in their promotion form (``pause=True``: a trial stops at its rung
and the top ``1/eta`` of a rung are continued by new trials), run twice on the same problem,
seed and sampler: once *resuming* each promoted trial from the paused one's checkpoint
(``trial.load_checkpoint()``), once *restarting* it from epoch 1 as the original Hyperband
does. Training is deterministic, so both runs make the same decisions over the same trials
(checked); they differ only in the epochs trained. Reported: the epochs each run trained until
it first completed a trial as good as the best that either found ("epochs to the same
quality"), and their ratio. Target (issue 22): resuming needs at least a quarter fewer.

Part 3 (:mod:`benchmarks.fidelity.pbt`): PBT against ASHA and random search at equal epochs.

Writes ``benchmarks/results/fidelity-checkpoints.md`` with the command, the tables and each
target's PASS or FAIL.

    PYTHONPATH=src python benchmarks/fidelity/checkpoints.py --quick    # ~3 minutes, 1 core
    PYTHONPATH=src python benchmarks/fidelity/checkpoints.py --seeds 10
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
import zlib
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

from benchmarks.fidelity.problems import hartmann  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "fidelity-checkpoints.md"


# -- problems: training whose state is a picklable checkpoint --------------------------------
@dataclass
class Task:
    """A space and a trainer: ``start(params, seed)`` makes a state, ``epoch(state, params)``
    trains one epoch on it and returns the validation loss (lower is better)."""

    name: str
    space: dict[str, tuple[float, float, bool]]  # name -> (low, high, log)
    start: Callable[[dict[str, Any], int], Any]
    epoch: Callable[[Any, dict[str, Any], int], float]
    note: str


def _digits_sgd() -> Task:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = load_digits(return_X_y=True)
    xtr, xva, ytr, yva = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    scaler = StandardScaler().fit(xtr)
    xtr, xva = scaler.transform(xtr), scaler.transform(xva)
    classes = np.unique(y)

    def start(params: dict[str, Any], seed: int) -> Any:
        from sklearn.linear_model import SGDClassifier

        return SGDClassifier(loss="log_loss", alpha=params["alpha"], learning_rate="constant",
                             eta0=params["eta0"], random_state=seed % (2**31))

    def epoch(model: Any, params: dict[str, Any], e: int) -> float:
        order = np.random.default_rng(e).permutation(len(xtr))
        model.partial_fit(xtr[order], ytr[order], classes=classes)
        return float(1.0 - model.score(xva, yva))

    return Task("sgd-digits", {"alpha": (1e-6, 1e-1, True), "eta0": (1e-4, 1.0, True)},
                start, epoch, "scikit-learn SGDClassifier (log loss) on digits, one "
                "partial_fit pass an epoch; loss = 1 - validation accuracy")


def _hartmann6(max_epochs: int) -> Task:
    def start(params: dict[str, Any], seed: int) -> Any:
        return {"x": np.array([params[f"x{i}"] for i in range(6)])}

    def epoch(state: Any, params: dict[str, Any], e: int) -> float:
        return hartmann(state["x"], min(1.0, e / max_epochs))

    return Task("hartmann6-mf", {f"x{i}": (0.0, 1.0, False) for i in range(6)}, start, epoch,
                "multi-fidelity Hartmann 6-D (benchmarks.fidelity.problems.hartmann); the "
                "state is the point, the fidelity epoch / max")


# -- one run ---------------------------------------------------------------------------------------
def run_halving(task: Task, pruner: str, *, resume: bool, seed: int, max_epochs: int, eta: int,
                n_trials: int) -> dict[str, Any]:
    """One study in the promotion form; the epochs each trial trained and what it reached."""
    import dialed

    trained: dict[int, int] = {}

    def objective(trial: dialed.Trial) -> float:
        params = {k: trial.suggest_float(k, lo, hi, log=log)
                  for k, (lo, hi, log) in task.space.items()}
        ck = trial.load_checkpoint() if resume else None
        # the model's seed is the configuration's, so a restarted promotion trains the very
        # model its paused trial did
        model_seed = zlib.crc32(repr(sorted(params.items())).encode()) + seed
        e, state = (ck["epoch"], ck["state"]) if ck else (0, task.start(params, model_seed))
        loss = float("nan")
        while e < max_epochs:
            e += 1
            loss = task.epoch(state, params, e)
            trained[trial.number] = trained.get(trial.number, 0) + 1
            trial.report(loss, e)
            if resume:
                trial.save_checkpoint({"epoch": e, "state": state})
            if trial.should_prune():
                raise dialed.Pruned()
        return loss

    study = dialed.create_study(
        sampler="random", seed=seed, pruner={"name": pruner, "pause": True},
        resource={"name": "epochs", "min": 1, "max": max_epochs, "reduction_factor": eta},
    )
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=n_trials)
    name = study.metrics.primary.name
    trials = [{"number": t.number, "params": dict(t.params), "state": t.state.value,
               "epochs": trained.get(t.number, 0),
               "final": t.metrics.get(name) if t.state.value == "complete" else None}
              for t in study.trials]
    return {"trials": trials, "seconds": time.perf_counter() - t0}


def epochs_to(run: dict[str, Any], quality: float) -> int | None:
    """Epochs trained until the run first completed a trial at least as good as ``quality``."""
    spent = 0
    for t in run["trials"]:
        spent += t["epochs"]
        if t["final"] is not None and t["final"] <= quality + 1e-12:
            return spent
    return None


def halving_section(quick: bool, seeds: list[int]) -> tuple[list[str], list[tuple[str, bool]]]:
    settings = [(27, 3, 120), (32, 2, 120)] if quick else [(81, 3, 300), (64, 2, 300)]
    tasks = [_digits_sgd(), _hartmann6(settings[0][0])]
    lines = ["| problem | pruner | R, eta | seeds | same trials | epochs to the same quality "
             "(median): resume / restart | ratio (median) | total epochs: resume / restart |",
             "|---|---|---|---|---|---|---|---|"]
    ratios_hb: dict[tuple[int, int], list[float]] = {}
    for max_epochs, eta, n_trials in settings:
        for task in tasks:
            if task.name.startswith("hartmann"):
                task = _hartmann6(max_epochs)
            for pruner in ("hyperband", "asha"):
                ratios, same, to_res, to_rst, tot_res, tot_rst = [], True, [], [], [], []
                for seed in seeds:
                    res = run_halving(task, pruner, resume=True, seed=seed,
                                      max_epochs=max_epochs, eta=eta, n_trials=n_trials)
                    rst = run_halving(task, pruner, resume=False, seed=seed,
                                      max_epochs=max_epochs, eta=eta, n_trials=n_trials)
                    same &= ([(t["params"], t["state"], t["final"]) for t in res["trials"]]
                             == [(t["params"], t["state"], t["final"]) for t in rst["trials"]])
                    finals = [t["final"] for t in res["trials"] + rst["trials"]
                              if t["final"] is not None]
                    best = min(finals)
                    a, b = epochs_to(res, best), epochs_to(rst, best)
                    if a is not None and b is not None:
                        to_res.append(a)
                        to_rst.append(b)
                        ratios.append(a / b)
                    tot_res.append(sum(t["epochs"] for t in res["trials"]))
                    tot_rst.append(sum(t["epochs"] for t in rst["trials"]))
                ratio = statistics.median(ratios) if ratios else float("nan")
                if pruner == "hyperband":
                    ratios_hb.setdefault((max_epochs, eta), []).extend(ratios)
                lines.append(
                    f"| {task.name} | {pruner} (pause) | {max_epochs}, {eta} | {len(seeds)} | "
                    f"{'yes' if same else 'NO'} | {statistics.median(to_res):.0f} / "
                    f"{statistics.median(to_rst):.0f} | {ratio:.2f} | "
                    f"{statistics.median(tot_res):.0f} / {statistics.median(tot_rst):.0f} |")
                print(lines[-1], flush=True)
    targets = []
    for (max_epochs, eta), found in ratios_hb.items():
        ratio = statistics.median(found) if found else float("nan")
        targets.append((f"Hyperband (R = {max_epochs}, eta = {eta}) with checkpoints: epochs to "
                        f"the same quality fall by at least a quarter against restarting "
                        f"(median ratio over problems and seeds {ratio:.2f} <= 0.75)",
                        ratio <= 0.75))
    lines += ["", "Resuming saves the epochs a promoted trial would train again: with "
              "synchronous successive halving, a fraction `s / (eta (s + 1))` of bracket `s`'s "
              "epochs (bracket 0, which trains every trial to the full budget, saves none), so "
              "about 0.18 of Hyperband's epochs at eta = 3 and 0.3 at eta = 2 in theory; ASHA's "
              "single bracket saves the most."]
    return lines, targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller budgets, 3 seeds")
    parser.add_argument("--seeds", type=int, default=None, help="how many seeds (default 3 "
                        "quick, 5 otherwise)")
    parser.add_argument("--part", choices=("all", "halving", "pbt"), default="all")
    args = parser.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    seeds = list(range(args.seeds or (3 if args.quick else 5)))
    started = time.perf_counter()
    sections: list[str] = []
    targets: list[tuple[str, bool]] = []
    if args.part in ("all", "halving"):
        lines, t = halving_section(args.quick, seeds)
        sections += ["## Checkpoints: resuming promoted trials against restarting them", "",
                     "Hyperband and ASHA with `pause=True`, the random sampler, the same seed "
                     "for both runs; `n_trials` counts every trial (a promotion is a trial). "
                     "Problems: " + "; ".join(f"`{k.name}`: {k.note}" for k in
                                               (_digits_sgd(), _hartmann6(27))) + ".", "",
                     *lines, ""]
        targets += t
    if args.part in ("all", "pbt"):
        from benchmarks.fidelity.pbt import pbt_section

        lines, t = pbt_section(args.quick, seeds)
        sections += ["## Population-based training against ASHA and random search", "",
                     *lines, ""]
        targets += t
    command = "PYTHONPATH=src python benchmarks/fidelity/checkpoints.py " + " ".join(
        sys.argv[1:] if argv is None else argv)
    out = ["# Checkpoints, resume and population-based training (issue 22, parts 2 and 3)", "",
           f"Command: `{command.strip()}`  ",
           f"Run {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.node() or 'a'}"
           f" ({platform.machine()}, Python {platform.python_version()}, one BLAS thread), "
           f"{time.perf_counter() - started:.0f} s.", "", "## Targets", ""]
    out += [f"- **{'PASS' if ok else 'FAIL'}**: {text}" for text, ok in targets]
    out += ["", *sections]
    if args.part == "all":
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text("\n".join(out) + "\n", encoding="utf-8")
        print(f"wrote {RESULTS}")
    else:
        print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
