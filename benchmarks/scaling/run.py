"""Tune small, extrapolate up: the ladder's prediction against the alternatives at a width
the ladder never searched.

On the MLP family (:mod:`benchmarks.scaling.family`) each seed runs a ladder of studies at
widths 32-256 (a fixed budget of trials per rung, then confirm), predicts the learning rate at
width 1024 (4x the largest rung) and compares, at width 1024:

(a) the predicted configuration;
(b) the largest rung's confirmed best, reused unchanged;
(c) a direct search at width 1024 given the whole ladder's compute (the trials' CPU seconds,
    confirm runs included);
(d) the same search (sampler, seed, budget) with the ladder's prediction and its interval's
    corners enqueued first.

Every configuration is scored by the mean validation MSE of ``--repeats`` fresh seeds at width
1024 (the same seeds within one seed's comparison); a search's configuration at any point is
its best trial so far (its *pick*). Targets: **A**: (a) beats (b): its mean is lower in most
seeds and in the median; **D**: (d)'s pick scores at most (c)'s final pick with at most half
of (c)'s compute, in the median over seeds (a seed where (d) never does counts as infinite).
The literal reading of D (the single-seed values the searches saw) is reported beside it.

    PYTHONPATH=src nice -n 5 python benchmarks/scaling/run.py --quick   # 3 seeds
    PYTHONPATH=src nice -n 5 python benchmarks/scaling/run.py           # 5 seeds
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
from benchmarks.scaling.family import SPACE, STEPS, objective, train  # noqa: E402
from dialed.workflow import enqueue_prediction, run_ladder  # noqa: E402
from dialed.workflow._ladder_fit import clip  # noqa: E402

RUNGS = (32, 64, 128, 256)
TARGET = 1024
#: Trials per rung: enough that the direct search (c), given the whole ladder's compute, runs
#: about a dozen width-1024 trials (notes.md, "The scaling benchmark's family").
TRIALS = 36


def _cpu(studies: list[dialed.Study]) -> float:
    return sum(t.cpu_seconds or 0.0 for s in studies for t in s.trials)


def _search(study: dialed.Study, budget: float) -> list[tuple[float, float, float]]:
    """Run trials one at a time until their CPU seconds reach ``budget``; after each, (compute
    so far, best value so far, the learning rate of that best trial: the search's pick)."""
    curve: list[tuple[float, float, float]] = []
    spent, best, pick = 0.0, math.inf, math.nan
    done = {t.number for t in study.trials if t.state.finished}
    while spent < budget:
        study.optimize(objective, n_trials=1)
        # The trial just run (not trials[-1]: enqueued trials wait behind it in the list).
        last = next(t for t in study.trials if t.state.finished and t.number not in done)
        done.add(last.number)
        spent += last.cpu_seconds or 0.0
        if last.state == dialed.TrialState.COMPLETE and float(last.metrics["value"]) < best:
            best, pick = float(last.metrics["value"]), float(last.params["lr"])
        curve.append((spent, best, pick))
    return curve


class Scorer:
    """The mean validation MSE at the target width over fixed fresh seeds, the same seeds for
    every configuration of one seed's comparison (common random numbers), cached."""

    def __init__(self, seeds: list[int]) -> None:
        self.seeds = seeds
        self.cache: dict[float, float] = {}

    def __call__(self, lr: float) -> float:
        if math.isnan(lr):
            return math.inf
        if lr not in self.cache:
            self.cache[lr] = statistics.fmean(train(TARGET, lr, s) for s in self.seeds)
        return self.cache[lr]


def _reach(curve: list[tuple[float, float, float]], ok: Any) -> float:
    """The compute at which ``ok`` first holds of a curve's point (infinite if never)."""
    return next((cpu for cpu, best, pick in curve if ok(best, pick)), math.inf)


def _at(curve: list[tuple[float, float, float]], compute: float) -> tuple[float, float, float]:
    """The curve's last point within ``compute`` (no trial yet: an infinite best)."""
    last = (0.0, math.inf, math.nan)
    for point in curve:
        if point[0] > compute:
            break
        last = point
    return last


def one_seed(seed: int, trials: int, repeats: int, sampler: str | None) -> dict[str, Any]:
    store = dialed.storage.open_storage("memory")
    name = f"mlp{seed}"
    started = time.perf_counter()
    fit = run_ladder(name, "width", list(RUNGS), objective, trials=trials, space=SPACE,
                     storage=store, sampler=sampler, seed=seed, repeats=2, top=2)
    rungs = [dialed.load_study(r.study, storage=store) for r in fit.rungs]
    ladder_cpu = _cpu(rungs)
    pred = fit.predict(TARGET)
    reused = fit.rungs[-1].params
    score = Scorer([10_000 * (seed + 1) + k for k in range(repeats)])
    a, b = score(pred.params["lr"]), score(reused["lr"])
    space = dialed.Space.from_dict(SPACE)
    # (c) and (d) are the same search (sampler, seed, budget); (d) starts from the prediction.
    for study_name in ("direct", "warm", "corners"):
        dialed.create_study(study_name, storage=store, space=space, sampler=sampler,
                            seed=seed, scale={"width": TARGET})
    c_curve = _search(dialed.load_study("direct", storage=store), ladder_cpu)
    warm = enqueue_prediction(name, pred, "warm", store)
    enqueued = int(warm.attrs["ladder:prediction"]["enqueued"])
    d_curve = _search(warm, ladder_cpu)
    # (d) as enqueue_prediction did before the inner interval's ends: the prediction, then
    # its interval's corners (the ablation of that change).
    corners = dialed.load_study("corners", storage=store)
    seen: list[dict[str, Any]] = []
    for config in [pred.params, *pred.corners()]:
        config = {k: clip(space[k], v) for k, v in config.items()}
        if config not in seen:
            seen.append(config)
            corners.enqueue(config, validate=False)
    d0_curve = _search(corners, ladder_cpu)
    c_cpu, c_best, c_pick = c_curve[-1]
    c_score = score(c_pick)
    # The target as measured: the fresh-seed mean of (d)'s pick against (c)'s final pick's.
    reach = _reach(d_curve, lambda best, pick: score(pick) <= c_score)
    # The literal reading: (d)'s best single-seed value against (c)'s.
    reach_raw = _reach(d_curve, lambda best, pick: best <= c_best)
    reach0 = _reach(d0_curve, lambda best, pick: score(pick) <= c_score)
    half = _at(c_curve, c_cpu / 2)
    d_half = _at(d_curve, c_cpu / 2)
    return {
        "seed": seed, "fit": fit.describe(), "b": fit.laws["lr"].b,
        "b_interval": fit.laws["lr"].b_interval, "pred_lr": pred.params["lr"],
        "pred_interval": pred.intervals["lr"], "reused_lr": reused["lr"], "a": a,
        "b_loss": b, "ladder_cpu": ladder_cpu, "c_best": c_best, "c_cpu": c_cpu,
        "c_trials": len(c_curve), "c_pick": c_pick, "c_score": c_score,
        "c_half_score": score(half[2]), "d_half_score": score(d_half[2]),
        "d_best": d_curve[-1][1], "d_trials": len(d_curve), "d_pick": d_curve[-1][2],
        "d_score": score(d_curve[-1][2]), "enqueued": enqueued,
        "d_reach": reach, "reach_share": reach / c_cpu if c_cpu > 0 else math.inf,
        "reach_raw_share": reach_raw / c_cpu if c_cpu > 0 else math.inf,
        "reach0_share": reach0 / c_cpu if c_cpu > 0 else math.inf, "enqueued0": len(seen),
        "target_trial_cpu": c_cpu / len(c_curve),
        "wall": time.perf_counter() - started,
    }


def _share(x: float) -> str:
    return "not reached" if math.isinf(x) else f"{x:.0%}"


def render(runs: list[dict[str, Any]], command: str, elapsed: float, trials: int,
           repeats: int, sampler: str | None, load: tuple[Any, Any]) -> str:
    wins = sum(r["a"] < r["b_loss"] for r in runs)
    med_a = statistics.median(r["a"] for r in runs)
    med_b = statistics.median(r["b_loss"] for r in runs)
    pass_a = wins > len(runs) / 2 and med_a < med_b
    med_share = statistics.median(r["reach_share"] for r in runs)
    med_raw = statistics.median(r["reach_raw_share"] for r in runs)
    med0 = statistics.median(r["reach0_share"] for r in runs)
    pass_d = med_share <= 0.5
    n_c = statistics.median(r["c_trials"] for r in runs)
    lines = [
        "# Scaling: tune small, extrapolate up",
        "",
        f"Command: `{command}`",
        "",
        f"MLP family (benchmarks/scaling/family.py: 2 hidden layers, standard parametrisation, "
        f"{STEPS} Adam steps with the rate decayed linearly to zero, CPU torch, one thread). "
        f"Ladder at widths {list(RUNGS)}: {trials} trials per rung, then confirm (top 2, 2 "
        f"seeds); prediction at width {TARGET} ({TARGET // RUNGS[-1]}x the largest rung). "
        f"Sampler: {sampler or 'the default (auto)'} in every study. Compute = the trials' "
        f"CPU seconds. {len(runs)} seeds, {elapsed:.0f} s wall; load average before/after "
        f"{load[0][0]:.1f}/{load[1][0]:.1f} (2 shared cores).",
        "",
        "What is measured, per seed:",
        "",
        f"- (a) the predicted learning rate and (b) the largest rung's confirmed best, reused, "
        f"each scored by the mean validation MSE of {repeats} fresh seeds at width {TARGET} "
        "(the same seeds for every configuration of one seed's comparison).",
        "- (c) a direct search at the target width, run trial by trial until its CPU seconds "
        "reach the whole ladder's (every rung's search and confirm trials); (d) the same search "
        "(sampler, seed, budget) into which `enqueue_prediction` first put the prediction, "
        "each end of its inner (50%) interval and its 95% interval's corners. A search's "
        "*pick* at any point is its best trial so far; a pick is scored like (a) and (b). "
        "(d)'s compute counts its own trials only (the ladder is paid for by (a)).",
        "- **D as measured**: the compute at which (d)'s pick first scores at most (c)'s final "
        "pick, as a share of (c)'s compute. *Literal*: the same with the single-seed values "
        "the searches saw ((d)'s best value so far against (c)'s final best value), which "
        "rewards (c)'s extra draws of seed noise (its best is the luckiest of more trials); "
        "shown, not judged. *Corners only*: D as measured for (d) enqueued the way "
        "`enqueue_prediction` did before the inner interval's ends were added (the prediction, "
        "then its 95% interval's corners), the same search otherwise.",
        "",
        "| seed | fitted b [95%] | predicted lr [95%] | reused lr | (a) predicted | "
        "(b) reused | ladder CPU s | (c) trials, pick, score | (c) at half | "
        "(d) trials (enqueued), score at half, final | D as measured | D literal | "
        "D, corners only |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        lo, hi = r["b_interval"]
        plo, phi = r["pred_interval"]
        lines.append(
            f"| {r['seed']} | {r['b']:.2f} [{lo:.2f}, {hi:.2f}] | {r['pred_lr']:.2e} "
            f"[{plo:.1e}, {phi:.1e}] | {r['reused_lr']:.2e} | {r['a']:.4f} | {r['b_loss']:.4f} | "
            f"{r['ladder_cpu']:.1f} | {r['c_trials']}, {r['c_pick']:.1e}, {r['c_score']:.4f} | "
            f"{r['c_half_score']:.4f} | {r['d_trials']} ({r['enqueued']}), "
            f"{r['d_half_score']:.4f}, {r['d_score']:.4f} | {_share(r['reach_share'])} | "
            f"{_share(r['reach_raw_share'])} | {_share(r['reach0_share'])} |")
    lines += [
        "",
        "## Targets",
        "",
        f"- **A** (a) beats (b) on width-{TARGET} validation MSE: (a) lower in {wins}/{len(runs)} "
        f"seeds; median (a) {med_a:.4f} vs (b) {med_b:.4f}, ratio {med_a / med_b:.3f}: "
        f"**{'PASS' if pass_a else 'FAIL'}**",
        f"- **D** (d)'s pick scores at most (c)'s final pick with at most half of (c)'s "
        f"compute (median {n_c:g} trials of (c), a width-{TARGET} trial "
        f"{statistics.median(r['target_trial_cpu'] for r in runs):.2f} CPU s): median share "
        f"{_share(med_share)} (a seed not reached counts as infinite): "
        f"**{'PASS' if pass_d else 'FAIL'}**. Literal reading: median {_share(med_raw)}; "
        f"corners only: median {_share(med0)}.",
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
    parser.add_argument("--quick", action="store_true", help="3 seeds (else 5)")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sampler", default=None, help="every study's sampler (default: auto)")
    parser.add_argument("--out", type=Path, default=RESULTS / "scaling.md")
    args = parser.parse_args(argv)
    n_seeds = args.seeds or (3 if args.quick else 5)
    trials = args.trials or TRIALS
    load_before = os.getloadavg()
    started = time.perf_counter()
    runs = []
    command = "PYTHONPATH=src nice -n 5 python benchmarks/scaling/run.py " + " ".join(
        sys.argv[1:] if argv is None else argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for seed in range(args.first_seed, args.first_seed + n_seeds):
        run = one_seed(seed, trials, args.repeats, args.sampler)
        runs.append(run)
        partial = args.out.with_suffix(".partial.md")  # a cut-off run keeps its seeds
        partial.write_text(render(runs, command.strip(), time.perf_counter() - started, trials,
                                  args.repeats, args.sampler, (load_before, os.getloadavg())),
                           encoding="utf-8")
        print(f"seed {seed}: a={run['a']:.4f} b={run['b_loss']:.4f} c's pick={run['c_score']:.4f} "
              f"({run['c_trials']} trials) d reaches at "
              f"{_share(run['reach_share'])}, literal {_share(run['reach_raw_share'])}, "
              f"corners only {_share(run['reach0_share'])} "
              f"({run['wall']:.0f}s)", flush=True)
    text = render(runs, command.strip(), time.perf_counter() - started, trials, args.repeats,
                  args.sampler, (load_before, os.getloadavg()))
    args.out.write_text(text, encoding="utf-8")
    args.out.with_suffix(".partial.md").unlink(missing_ok=True)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
