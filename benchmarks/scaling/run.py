"""Tune small, extrapolate up: the ladder's prediction against the alternatives at a width
the ladder never searched.

On the MLP family (:mod:`benchmarks.scaling.family`) each seed runs a ladder of studies at
widths 32-256 (a fixed budget of TPE trials per rung, then confirm), predicts the learning rate
at width 1024 (4x the largest rung) and compares, at width 1024:

(a) the predicted configuration;
(b) the largest rung's confirmed best, reused unchanged;
(c) a direct TPE search at width 1024 given the whole ladder's compute (the trials' CPU
    seconds, confirm runs included);
(d) the same search with the ladder's prediction and its interval's corners enqueued first.

(a) and (b) are each scored by the mean validation MSE of ``--repeats`` fresh seeds at width
1024. Targets: **A**: (a) beats (b): its mean is lower in most seeds and in the median;
**D**: (d) reaches (c)'s final best (its best so far at most (c)'s) with at most half of (c)'s
compute, in the median over seeds (a seed where (d) never reaches it counts as infinite).

    PYTHONPATH=src nice -n 10 python benchmarks/scaling/run.py --quick   # ~5-10 minutes
    PYTHONPATH=src nice -n 10 python benchmarks/scaling/run.py           # ~15 minutes
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for _path in (ROOT, ROOT / "src"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
RESULTS = HERE.parent / "results"

import dialed  # noqa: E402
from benchmarks.scaling.family import SPACE, objective, train  # noqa: E402
from dialed.workflow import enqueue_prediction, run_ladder  # noqa: E402

RUNGS = (32, 64, 128, 256)
TARGET = 1024


def _cpu(studies: list[dialed.Study]) -> float:
    return sum(t.cpu_seconds or 0.0 for s in studies for t in s.trials)


def _search(study: dialed.Study, budget: float) -> list[tuple[float, float]]:
    """Run trials one at a time until their CPU seconds reach ``budget``; the curve of
    (compute so far, best so far)."""
    curve: list[tuple[float, float]] = []
    spent, best = 0.0, math.inf
    while spent < budget:
        study.optimize(objective, n_trials=1)
        last = study.trials[-1]
        spent += last.cpu_seconds or 0.0
        if last.state == dialed.TrialState.COMPLETE:
            best = min(best, float(last.metrics["value"]))
        curve.append((spent, best))
    return curve


def one_seed(seed: int, trials: int, repeats: int) -> dict[str, Any]:
    store = dialed.storage.open_storage("memory")
    name = f"mlp{seed}"
    started = time.perf_counter()
    fit = run_ladder(name, "width", list(RUNGS), objective, trials=trials, space=SPACE,
                     storage=store, sampler="tpe", seed=seed, repeats=2, top=2)
    rungs = [dialed.load_study(r.study, storage=store) for r in fit.rungs]
    ladder_cpu = _cpu(rungs)
    pred = fit.predict(TARGET)
    reused = fit.rungs[-1].params
    eval_seeds = [10_000 * (seed + 1) + k for k in range(repeats)]
    a = statistics.fmean(train(TARGET, pred.params["lr"], s) for s in eval_seeds)
    b = statistics.fmean(train(TARGET, reused["lr"], s) for s in eval_seeds)
    space = dialed.Space.from_dict(SPACE)
    direct = dialed.create_study("direct", storage=store, space=space, sampler="tpe",
                                 seed=seed, scale={"width": TARGET})
    c_curve = _search(direct, ladder_cpu)
    warm = enqueue_prediction(name, pred, "warm", store)
    d_curve = _search(warm, ladder_cpu)
    c_best, c_cpu = c_curve[-1][1], c_curve[-1][0]
    reach = next((cpu for cpu, best in d_curve if best <= c_best), math.inf)
    return {
        "seed": seed, "fit": fit.describe(), "b": fit.laws["lr"].b,
        "b_interval": fit.laws["lr"].b_interval, "pred_lr": pred.params["lr"],
        "pred_interval": pred.intervals["lr"], "reused_lr": reused["lr"], "a": a,
        "b_loss": b, "ladder_cpu": ladder_cpu, "c_best": c_best, "c_cpu": c_cpu,
        "c_trials": len(c_curve), "d_best": d_curve[-1][1], "d_trials": len(d_curve),
        "d_reach": reach, "reach_share": reach / c_cpu if c_cpu > 0 else math.inf,
        "c_best_lr": direct.best_params["lr"],
        "wall": time.perf_counter() - started,
    }


def render(runs: list[dict[str, Any]], command: str, elapsed: float, trials: int,
           repeats: int, load: tuple[Any, Any]) -> str:
    wins = sum(r["a"] < r["b_loss"] for r in runs)
    med_a = statistics.median(r["a"] for r in runs)
    med_b = statistics.median(r["b_loss"] for r in runs)
    pass_a = wins > len(runs) / 2 and med_a < med_b
    med_share = statistics.median(r["reach_share"] for r in runs)
    pass_d = med_share <= 0.5
    lines = [
        "# Scaling: tune small, extrapolate up",
        "",
        f"Command: `{command}`",
        "",
        f"MLP family (benchmarks/scaling/family.py: 2 hidden layers, standard parametrisation, "
        f"50 Adam steps, CPU torch, one thread). Ladder at widths {list(RUNGS)}: {trials} TPE "
        f"trials per rung, then confirm (top 2, 2 seeds); prediction at width {TARGET} "
        f"({TARGET // RUNGS[-1]}x the largest rung). (a) and (b) scored by the mean validation "
        f"MSE of {repeats} fresh seeds at width {TARGET}. Compute = the trials' CPU seconds. "
        f"{len(runs)} seeds, {elapsed:.0f} s wall; load average before/after "
        f"{load[0][0]:.1f}/{load[1][0]:.1f} (2 shared cores).",
        "",
        "| seed | fitted b [95%] | predicted lr [95%] | reused lr | (a) predicted | "
        "(b) reused | ladder CPU s | (c) best (trials) | (d) best (trials) | (d) reaches (c) at |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        lo, hi = r["b_interval"]
        plo, phi = r["pred_interval"]
        share = r["reach_share"]
        lines.append(
            f"| {r['seed']} | {r['b']:.2f} [{lo:.2f}, {hi:.2f}] | {r['pred_lr']:.2e} "
            f"[{plo:.1e}, {phi:.1e}] | {r['reused_lr']:.2e} | {r['a']:.4f} | {r['b_loss']:.4f} | "
            f"{r['ladder_cpu']:.1f} | {r['c_best']:.4f} ({r['c_trials']}) | "
            f"{r['d_best']:.4f} ({r['d_trials']}) | "
            + ("not reached" if math.isinf(share) else f"{share:.0%} of (c)'s compute") + " |")
    lines += [
        "",
        "## Targets",
        "",
        f"- **A** (a) beats (b) on width-{TARGET} validation MSE: (a) lower in {wins}/{len(runs)} "
        f"seeds; median (a) {med_a:.4f} vs (b) {med_b:.4f}, ratio {med_a / med_b:.3f}: "
        f"**{'PASS' if pass_a else 'FAIL'}**",
        f"- **D** (d) reaches (c)'s final best with at most half of (c)'s compute: median share "
        f"{'not reached' if math.isinf(med_share) else f'{med_share:.0%}'}: "
        f"**{'PASS' if pass_d else 'FAIL'}**",
        "",
        "Reading it: the ladder's compute is small next to one wide trial, so (c) runs only a "
        "few trials and its final best is one seed's value, selection luck included; (d) must "
        "match that value, not a confirmed mean. (a) and (b) are means of fresh seeds.",
        "",
        "## The fit of seed " + str(runs[0]["seed"]),
        "",
        "```",
        runs[0]["fit"],
        "```",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 seeds, 12 trials per rung")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "scaling.md")
    args = parser.parse_args(argv)
    n_seeds = args.seeds or (3 if args.quick else 5)
    trials = args.trials or (12 if args.quick else 16)
    load_before = os.getloadavg()
    started = time.perf_counter()
    runs = []
    for seed in range(n_seeds):
        run = one_seed(seed, trials, args.repeats)
        runs.append(run)
        print(f"seed {seed}: a={run['a']:.4f} b={run['b_loss']:.4f} c={run['c_best']:.4f} "
              f"d reaches at {run['reach_share']:.0%} ({run['wall']:.0f}s)", flush=True)
    command = "PYTHONPATH=src nice -n 10 python benchmarks/scaling/run.py " + " ".join(
        sys.argv[1:] if argv is None else argv)
    text = render(runs, command.strip(), time.perf_counter() - started, trials, args.repeats,
                  (load_before, os.getloadavg()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
