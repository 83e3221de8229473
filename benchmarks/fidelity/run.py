"""Cheap screening benchmark (issue 4): best validation loss against epochs consumed.

Every method of :mod:`benchmarks.fidelity.methods` (full-budget random search; dialed's
median, ASHA, Hyperband and TPE + Hyperband; Optuna's MedianPruner and HyperbandPruner with
its default TPE sampler) runs on every problem of :mod:`benchmarks.fidelity.problems` (real
scikit-learn learning curves trained with ``partial_fit``, and multi-fidelity Hartmann) and
seed, with the same epoch budget: what the full-budget search spends on ``--full-trials``
trials. Jobs (one method, problem and seed each) run side by side in ``--workers`` processes,
one BLAS thread each. Writes ``benchmarks/results/fidelity.md`` (the command, the table, and
PASS/FAIL lines for the two targets computed by :mod:`benchmarks.fidelity.score`) and the raw
runs next to it.

    PYTHONPATH=src python benchmarks/fidelity/run.py --quick            # ~10 minutes, 2 cores
    PYTHONPATH=src python benchmarks/fidelity/run.py --workers 16       # 81 epochs, 5 seeds
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import math
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from importlib import metadata
from multiprocessing import get_context
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for _path in (ROOT, ROOT / "src"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from benchmarks._workers import exit_with_parent  # noqa: E402
from benchmarks.fidelity.methods import METHODS, run_method  # noqa: E402
from benchmarks.fidelity.problems import problems, rank_correlation  # noqa: E402
from benchmarks.fidelity.score import FAITHFUL_RHO, issue22, summarise  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def _limit_threads() -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"


def _job(method: str, problem_name: str, seed: int, quick: bool, budget: int) -> dict[str, Any]:
    _limit_threads()
    for module in ("dialed", "optuna", "sklearn.linear_model", "sklearn.neural_network"):
        importlib.import_module(module)  # imports are not charged to a job's wall time

    problem = next(p for p in problems(quick) if p.name == problem_name)
    curve_of = problem.make(seed)
    return run_method(method, problem, curve_of, seed, budget)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="27 epochs, 5 seeds, 4 problems (about 10 minutes on 2 cores)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1 (5 in both modes)")
    parser.add_argument("--full-trials", type=int, default=None,
                        help="trials of the full-budget search; sets the epoch budget "
                             "(12 quick, 16 full)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--problems", nargs="*", default=None)
    parser.add_argument("--methods", nargs="*", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS / "fidelity.md")
    args = parser.parse_args(argv)
    _limit_threads()
    n_seeds = args.seeds or 5
    full_trials = args.full_trials or (12 if args.quick else 16)
    probs = [p for p in problems(args.quick) if not args.problems or p.name in args.problems]
    methods = [m for m, _, _ in METHODS if not args.methods or m in args.methods]
    if "full-budget" not in methods:
        methods.insert(0, "full-budget")
    jobs = [(m, p.name, s, args.quick, full_trials * p.max_epochs)
            for p in probs for s in range(n_seeds) for m in methods]
    started = time.perf_counter()
    load_before = os.getloadavg()
    runs: list[dict[str, Any]] = []
    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn"),
                            initializer=exit_with_parent, initargs=(os.getpid(),)) as pool:
        futures = {pool.submit(_job, *job): job for job in jobs}
        for fut in as_completed(futures):
            run = fut.result()
            runs.append(run)
            print(f"[{time.perf_counter() - started:7.1f}s] {run['problem']:<22} "
                  f"seed {run['seed']} {run['method']:<22} {len(run['trials']):4d} trials "
                  f"{run['wall_seconds']:6.1f}s", flush=True)
    elapsed = time.perf_counter() - started
    # how faithful each problem's cheapest budget is: 40 random configurations, seed 0
    faithfulness = {p.name: rank_correlation(p, n=40) for p in probs}
    order = {(m, pn, s): i for i, (m, pn, s, _, _) in enumerate(jobs)}
    runs.sort(key=lambda r: order.get((r["method"], r["problem"], r["seed"]), 0))
    summary = summarise(runs)
    command = "PYTHONPATH=src python benchmarks/fidelity/run.py " + " ".join(
        sys.argv[1:] if argv is None else argv)
    text = render(summary, runs, probs, command=command.strip(), elapsed=elapsed,
                  workers=args.workers, n_seeds=n_seeds, full_trials=full_trials,
                  load=(load_before, os.getloadavg()), faithfulness=faithfulness)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    raw = args.out.with_name(args.out.stem + "-raw.json")
    raw.write_text(json.dumps(runs, indent=None, default=str) + "\n", encoding="utf-8")
    print(text)
    return 0


def _fmt(value: float, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if math.isinf(value):
        return "not reached" if value > 0 else "-inf"
    return f"{value:.{digits}f}"


def _versions() -> str:
    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "absent"

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        commit = "?"
    return (f"dialed {commit or '?'} (working tree), optuna {version('optuna')}, "
            f"scikit-learn {version('scikit-learn')}, numpy {version('numpy')}, "
            f"Python {platform.python_version()}")


def render(summary: dict[str, Any], runs: list[dict[str, Any]], probs: list[Any], *,
           command: str, elapsed: float, workers: int, n_seeds: int, full_trials: int,
           load: tuple[Any, Any], faithfulness: dict[str, float]) -> str:
    desc = {m: d for m, _, d in METHODS}
    lines = [
        "# Cheap screening: multi-fidelity methods against full-budget search (issue 4)",
        "",
        "```",
        command,
        "```",
        "",
        f"Run {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} on "
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), {workers} "
        f"worker processes, one BLAS thread each; {elapsed:.0f} s in all. Load average "
        f"before / after: {load[0][0]:.1f} / {load[1][0]:.1f}. {_versions()}.",
        "",
        f"Seeds 0..{n_seeds - 1}. Each method gets the epochs the full-budget search spends "
        f"on {full_trials} trials (`E = {full_trials} x max epochs`); trials run one after "
        "another, reporting the validation loss after every epoch and asking to prune. "
        "**Quality** is the best final validation loss among trials trained to the full "
        "budget (1 - accuracy for the classifiers, the function value for Hartmann; lower is "
        "better); pruned trials' partial curves never count. Epochs count everything trained.",
        "",
        "Methods:",
        "",
    ]
    lines += [f"- `{m}`: {desc.get(m, m)}" for m in summary["methods"]]
    lines += ["", "Problems:", ""]
    lines += [f"- `{p.name}`: {p.note}; epochs {p.min_epochs}..{p.max_epochs}, "
              f"reduction factor {p.eta}; Spearman's rho of epoch {p.min_epochs} against the "
              f"final value over 40 random configurations: {faithfulness[p.name]:.2f}"
              for p in probs]
    notes = sorted({r["note"] for r in runs if r.get("note")})
    cpus = os.cpu_count() or 1
    if max(load[0][0], load[1][0]) > cpus:
        notes.append(
            f"The machine was shared while this ran (load average up to "
            f"{max(load[0][0], load[1][0]):.1f} on {cpus} CPUs): wall times are inflated and "
            "noisy; epochs and qualities are not affected."
        )
    if notes:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in notes]
    lines += [
        "",
        "## Results (median over seeds)",
        "",
        "Columns: quality at `E/3` and at `E` epochs; epochs to reach the full-budget search's "
        "final quality, as a fraction of `E`; trials run and pruned (mean); wall seconds and "
        "the part of it not spent training (sampler, pruner, storage).",
    ]
    for p in summary["problems"]:
        lines += ["", f"### {p}", "",
                  "| method | quality @ E/3 | quality @ E | epochs to full-search quality "
                  "| trials | pruned | wall s | overhead s |",
                  "|---|---|---|---|---|---|---|---|"]
        for m in summary["methods"]:
            c = summary["table"][p].get(m)
            if c is None:
                continue
            lines.append(
                f"| {m} | {_fmt(c['third'])} | {_fmt(c['full'])} | {_fmt(c['ratio'], 3)} | "
                f"{c['trials']:.0f} | {c['pruned']:.0f} | {c['wall']:.1f} | "
                f"{c['overhead']:.1f} |"
            )
    pooled = summary["pooled_ratio"]
    best = summary["best"]
    lines += ["", "## Targets", "",
              "Median, over every (problem, seed) run, of the epochs a method needs to reach "
              "the full-budget search's final quality, as a fraction of that search's epochs:",
              ""]
    lines += [f"- `{m}`: {_fmt(pooled[m], 3)}" for m in summary["methods"]
              if m != "full-budget"]
    verdict1 = "PASS" if summary["target1"] else "FAIL"
    lines += [
        "",
        f"**{verdict1}** target 1: the best dialed multi-fidelity method, `{best}`, reaches the "
        f"final quality of full-budget search with a median {_fmt(pooled.get(best, math.nan), 3)}"
        f" of its epochs (target: at most 0.333).",
    ]
    comp = summary["compare"]
    if comp:
        parts = "; ".join(f"at {k}: {v['wins']} better, {v['ties']} equal, {v['losses']} worse"
                          for k, v in comp.items())
        verdict2 = "PASS" if summary["target2"] else "FAIL"
        lines += [
            "",
            "Target 2 compares the same method, chosen by target 1 before looking at target 2, "
            "with `optuna-hyperband` run by run (same problem, seed and epoch budget): better, "
            "equal or worse quality after `E/3` and after `E` epochs.",
            "",
            f"**{verdict2}** target 2: at equal epochs `{best}` is at least as good as "
            f"`optuna-hyperband` in at least half of the (problem, seed) runs, at E/3 and at E "
            f"({parts}).",
        ]
    if summary.get("versus"):
        lines += ["", "Every dialed method against `optuna-hyperband`, run by run (better / "
                  "equal / worse quality at equal epochs):", "",
                  "| method | at E/3 | at E |", "|---|---|---|"]
        for m, v in summary["versus"].items():
            cells = " | ".join(f"{v[k]['wins']} / {v[k]['ties']} / {v[k]['losses']}"
                               for k in ("E/3", "E"))
            lines.append(f"| {m} | {cells} |")
    lines += _issue22_lines(issue22(runs, faithfulness))
    lines.append("")
    return "\n".join(lines)


def _issue22_lines(found: dict[str, Any]) -> list[str]:
    if not found:
        return []
    verdict = {k: "PASS" if found[k] else "FAIL" for k in ("A", "B", "C")}
    lines = ["", "## Targets of issue 22: dialed's default with the resource declared", "",
             "Seed by seed, `dialed-auto`'s final quality minus the other method's (negative: "
             "dialed's default is better); mean and 95% t-interval over the seeds.", "",
             "| problem | vs `dialed-auto-full` (same sampler, full fidelity) | "
             "vs `optuna-hyperband` |", "|---|---|---|"]
    for p, v in found["full"].items():
        o = found["optuna"].get(p)
        other = "-" if o is None else f"{o['mean']:+.4f} [{o['low']:+.4f}, {o['high']:+.4f}]"
        lines.append(f"| {p} | {v['mean']:+.4f} [{v['low']:+.4f}, {v['high']:+.4f}] | "
                     f"{other} |")
    ratios = "; ".join(f"{p} {r:.3f}" for p, r in found["faithful"].items()) or "none"
    lines += [
        "",
        f"**{verdict['A']}** A: with the resource declared, dialed's default is never worse than "
        "the same sampler at full fidelity beyond seed noise (every interval of the first column "
        "reaches zero or below).",
        "",
        f"**{verdict['B']}** B: it beats Optuna's TPE + HyperbandPruner at equal epochs on at "
        f"least three quarters of the problems: on {len(found['beats'])} of "
        f"{len(found['optuna'])} ({', '.join(found['beats']) or 'none'}).",
        "",
        f"**{verdict['C']}** C: on the faithful problems (rho of the cheapest budget at least "
        f"{FAITHFUL_RHO}) it reaches the full-budget search's final quality with at most 1/3 of "
        f"the epochs (median): {ratios}.",
    ]
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
