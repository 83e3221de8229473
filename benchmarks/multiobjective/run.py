"""Multi-objective benchmark (issue 8): hypervolume after 50, 100 and 200 trials.

Every method of :mod:`benchmarks.multiobjective.methods` (dialed's default strategy ``auto``
and its NSGA-II; Optuna's ``NSGAIISampler`` and the sampler ``optuna.create_study(directions=
[...])`` uses by default, ``TPESampler`` in Optuna 5.0) runs on every problem of
:mod:`benchmarks.multiobjective.problems` (ZDT1-3 and DTLZ2 with known fronts, the constrained
CONSTR, and accuracy against measured inference latency of a random forest on digits) for each
seed: one sequential run of 200 trials. The hypervolume of the feasible Pareto front (fixed
reference points, stated in the report) is taken after 50, 100 and 200 trials; the report gives
the median over seeds, and a PASS/FAIL line per problem for the target: dialed's default
strategy reaches a higher median hypervolume than every Optuna sampler at 100 trials.

Jobs (one method, problem and seed each) run side by side in ``--workers`` processes, one BLAS
thread each, so the latency of the ML problem is measured under the same load for every method.

    PYTHONPATH=src python benchmarks/multiobjective/run.py --quick       # ~15 min, 2 cores
    PYTHONPATH=src python benchmarks/multiobjective/run.py --workers 8   # 10 seeds (5 for ML)
    PYTHONPATH=src python benchmarks/multiobjective/run.py --report-only # redo the report
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
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
from benchmarks.multiobjective.methods import run_method  # noqa: E402
from benchmarks.multiobjective.problems import Problem, problems  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
CHECKPOINTS = (50, 100, 200)
TARGET_AT = 100
DIALED_DEFAULT = "dialed-auto"
OPTUNA = ("optuna-default", "optuna-nsga2")
QUICK_METHODS = ("dialed-auto", "optuna-default", "optuna-nsga2")
FULL_METHODS = ("dialed-auto", "dialed-tpe", "dialed-nsga2", "optuna-default", "optuna-nsga2")
ML = "RF-digits"


def _limit_threads() -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"


def _job(method: str, problem_name: str, seed: int, n_trials: int) -> dict[str, Any]:
    _limit_threads()
    for module in ("dialed", "optuna", "sklearn.ensemble"):
        importlib.import_module(module)  # imports are not charged to a run

    problem = next(p for p in problems() if p.name == problem_name)
    evaluate = problem.make(seed)
    t0 = time.perf_counter()
    out = run_method(method, problem, evaluate, seed, n_trials)
    out.update(method=method, problem=problem_name, seed=seed, n_trials=n_trials,
               wall_s=time.perf_counter() - t0)
    return out


# -- scoring ------------------------------------------------------------------------------------
def hypervolumes(problem: Problem, values: list[dict[str, float] | None]) -> list[float]:
    """Hypervolume of the feasible front after each checkpoint's number of trials."""
    import numpy as np

    from dialed.analysis.pareto import hypervolume, reference_losses
    from dialed.metrics import MetricSet

    metrics = MetricSet(problem.metrics)
    ref = reference_losses(problem.reference, metrics)
    objs = metrics.objectives
    out = []
    for k in CHECKPOINTS:
        rows = [[m.loss(v[m.name]) for m in objs] for v in values[:k]
                if v is not None and metrics.feasible(v)]
        out.append(hypervolume(np.array(rows).reshape(len(rows), len(objs)), ref))
    return out


def feasible_share(problem: Problem, values: list[dict[str, float] | None]) -> float:
    from dialed.metrics import MetricSet

    metrics = MetricSet(problem.metrics)
    return sum(1 for v in values if v is not None and metrics.feasible(v)) / max(1, len(values))


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per problem and method: median hypervolume at each checkpoint, overheads, decisions."""
    import numpy as np

    by_problem = {p.name: p for p in problems()}
    table: dict[str, dict[str, Any]] = {}
    for r in records:
        p = by_problem[r["problem"]]
        cell = table.setdefault(r["problem"], {}).setdefault(r["method"], {
            "hv": [], "overhead": [], "feasible": [], "decisions": set(), "seeds": []})
        cell["hv"].append(hypervolumes(p, r["values"]))
        cell["overhead"].append(r["overhead_s"] / max(1, len(r["values"])))
        cell["feasible"].append(feasible_share(p, r["values"]))
        cell["seeds"].append(r["seed"])
        if r.get("decision"):
            cell["decisions"].add(json.dumps(r["decision"], sort_keys=True))
    for methods in table.values():
        for cell in methods.values():
            hv = np.array(cell["hv"])
            cell["median"] = np.median(hv, axis=0).tolist()
            cell["q25"] = np.percentile(hv, 25, axis=0).tolist()
            cell["q75"] = np.percentile(hv, 75, axis=0).tolist()
    return table


def targets(table: dict[str, Any]) -> list[tuple[str, bool, str]]:
    """(problem, passed, sentence) for the target at ``TARGET_AT`` trials."""
    k = CHECKPOINTS.index(TARGET_AT)
    out = []
    for name, methods in table.items():
        if DIALED_DEFAULT not in methods:
            continue
        ours = methods[DIALED_DEFAULT]["median"][k]
        peers = {m: methods[m]["median"][k] for m in OPTUNA if m in methods}
        if not peers:
            continue
        best_peer = max(peers, key=lambda m: peers[m])
        passed = all(ours > v for v in peers.values())
        verdict = "higher than" if passed else "not higher than"
        out.append((name, passed, f"{DIALED_DEFAULT} {ours:.4f} is {verdict} the best Optuna "
                                  f"sampler ({best_peer} {peers[best_peer]:.4f})"))
    return out


# -- the report -----------------------------------------------------------------------------------
def _git_commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        return f"{sha} (working tree)" if dirty else sha
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


METHOD_NOTES = {
    "dialed-auto": "dialed's default strategy (a study given no sampler), told the budget of "
                   "200 trials; what it chose, and why, is listed under each problem",
    "dialed-tpe": "dialed's TPE (multi-objective split: fronts, the last one cut by "
                  "hypervolume subset selection; infeasible trials ranked after the feasible "
                  "ones)",
    "dialed-nsga2": "dialed's NSGA-II (population 50, SBX and polynomial mutation, constraint "
                    "domination)",
    "optuna-default": "the sampler `optuna.create_study(directions=[...])` uses when given "
                      "none; in Optuna 5.0 that is `TPESampler()` (multivariate TPE, constant "
                      "liar, multi-objective split with a hypervolume tie-break), built with a "
                      "seed",
    "optuna-nsga2": "Optuna's `NSGAIISampler()` (population 50, uniform crossover)",
}


def write_report(path: Path, records: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    table = summarise(records)
    probs = {p.name: p for p in problems()}
    lines = [
        "# Several objectives: hypervolume of the Pareto front (issue 8)",
        "",
        "```",
        meta["command"],
        "```",
        "",
        f"Run {meta['date']} on {meta['cpus']} CPUs ({platform.machine()}), {meta['workers']} "
        f"worker processes, one BLAS thread each; {meta['seconds']:.0f} s in all "
        f"({sum(r['wall_s'] for r in records):.0f} s of runs). Load average "
        f"before / after: {meta['load_before']} / {meta['load_after']}. dialed "
        f"{meta['commit']}, optuna {_version('optuna')}, scikit-learn "
        f"{_version('scikit-learn')}, numpy {_version('numpy')}, Python "
        f"{platform.python_version()}.",
        "",
        f"Each run is one method on one problem with one seed: {max(CHECKPOINTS)} trials one "
        "after another. The hypervolume of the feasible Pareto front of the first 50, 100 and "
        "200 trials is measured against the fixed reference point of the problem (larger is "
        "better; the hypervolume of the true front is given where known). Cells are the median "
        "over seeds, the interquartile range in brackets.",
        "",
        "Methods:",
        "",
        *(f"- `{m}`: {METHOD_NOTES[m]}" for m in METHOD_NOTES
          if any(m in methods for methods in table.values())),
        "",
        "With constraints (CONSTR) both Optuna samplers get them through `constraints_func`.",
        "",
        "Problems:",
        "",
    ]
    for name in table:
        p = probs[name]
        known = f"; true front: {p.front_hv:.4f}" if p.front_hv is not None else ""
        lines.append(f"- `{name}`: {p.note}{known}")
    lines += ["", "## Target", ""]
    results = targets(table)
    for name, passed, sentence in results:
        lines.append(f"- **{'PASS' if passed else 'FAIL'}** `{name}`: at {TARGET_AT} trials, "
                     f"{sentence}")
    n_pass = sum(1 for _, ok, _ in results if ok)
    if results:
        lines += ["", f"{n_pass} of {len(results)} problems pass: dialed's default "
                  "multi-objective strategy reaches a higher median hypervolume than every "
                  f"Optuna sampler compared at {TARGET_AT} trials" + (
                      " on every problem." if n_pass == len(results) else
                      "; it does not on the problems marked FAIL."), ""]
    else:
        lines += [f"(Not checked here: this run has no `{DIALED_DEFAULT}` beside an Optuna "
                  "sampler.)", ""]
    lines += ["## Hypervolume (median over seeds; interquartile range)", ""]
    for name, methods in table.items():
        p = probs[name]
        seeds = sorted({s for c in methods.values() for s in c["seeds"]})
        lines += [f"### {name}", "", f"Seeds {seeds[0]}..{seeds[-1]}" +
                  (f"; the true front's hypervolume is {p.front_hv:.4f}."
                   if p.front_hv is not None else "."), ""]
        header = "| method | " + " | ".join(f"HV @ {k}" for k in CHECKPOINTS)
        header += " | feasible share |" if any(
            spec not in ("minimize", "maximize") for spec in p.metrics.values()) else " |"
        header += " overhead ms / trial |"
        lines += [header, "|" + "---|" * (header.count("|") - 1)]
        for method, cell in methods.items():
            row = f"| {method} | " + " | ".join(
                f"{m:.4f} ({lo:.3f}-{hi:.3f})"
                for m, lo, hi in zip(cell["median"], cell["q25"], cell["q75"], strict=True))
            if "feasible share" in header:
                row += f" | {sum(cell['feasible']) / len(cell['feasible']):.2f}"
            row += f" | {1000 * sum(cell['overhead']) / len(cell['overhead']):.1f} |"
            lines.append(row)
        decisions = methods.get(DIALED_DEFAULT, {}).get("decisions", set())
        for d in sorted(decisions):
            choice = json.loads(d)
            lines.append("")
            lines.append(f"`dialed-auto` chose `{choice.get('sampler')}`: {choice.get('reason')}")
        lines.append("")
    lines += [
        "Notes:",
        "",
        "- Overhead is the time a run spent outside the objective (the sampler, the study's "
        "bookkeeping), per trial.",
        "- The ML problem's latency is measured while the other worker runs a job; every method "
        "sees the same conditions, but the values are noisier than on an idle machine.",
        "",
    ]
    text = "\n".join(lines)
    path.write_text(text, encoding="utf-8")
    return text


def _rounded(value: Any) -> Any:
    """Metric values to 7 significant digits: the raw file stays small, the report the same."""
    if isinstance(value, float):
        return float(f"{value:.7g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="5 seeds (3 for the ML problem), dialed-auto and the Optuna samplers")
    parser.add_argument("--seeds", type=int, default=None,
                        help="seeds 0..N-1 for the synthetic problems (5 quick, 10 full)")
    parser.add_argument("--ml-seeds", type=int, default=None, help="seeds for RF-digits (3/5)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--problems", nargs="*", default=None)
    parser.add_argument("--methods", nargs="*", default=None)
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the report from the raw results")
    parser.add_argument("--out", type=Path, default=RESULTS / "multiobjective.md")
    args = parser.parse_args(argv)
    _limit_threads()
    raw_path = args.out.with_name(args.out.stem + "-raw.json")
    command = "PYTHONPATH=src python benchmarks/multiobjective/run.py " + " ".join(
        sys.argv[1:] if argv is None else argv)
    if args.report_only:
        saved = json.loads(raw_path.read_text(encoding="utf-8"))
        write_report(args.out, saved["records"], saved["meta"])
        print(f"wrote {args.out}")
        return 0

    n_seeds = args.seeds or (5 if args.quick else 10)
    n_ml = args.ml_seeds or (3 if args.quick else 5)
    methods = args.methods or list(QUICK_METHODS if args.quick else FULL_METHODS)
    probs = [p for p in problems() if not args.problems or p.name in args.problems]
    jobs = [(m, p.name, s, max(CHECKPOINTS)) for p in probs
            for s in range(n_ml if p.name == ML else n_seeds) for m in methods]
    jobs.sort(key=lambda j: (j[1] != ML, j[0].startswith("dialed")))  # slow jobs first
    load_before = _load()
    start = time.perf_counter()
    records: list[dict[str, Any]] = []
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=get_context("spawn"),
                            initializer=exit_with_parent, initargs=(os.getpid(),)) as pool:
        futures = {pool.submit(_job, *job): job for job in jobs}
        for i, fut in enumerate(as_completed(futures), 1):
            method, problem, seed, _ = futures[fut]
            rec = fut.result()
            records.append(rec)
            print(f"[{i}/{len(jobs)}] {problem} {method} seed {seed}: {rec['wall_s']:.1f} s",
                  flush=True)
    meta = {
        "command": command,
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "workers": args.workers,
        "seconds": time.perf_counter() - start,
        "load_before": load_before,
        "load_after": _load(),
        "commit": _git_commit(),
    }
    records.sort(key=lambda r: (r["problem"], r["method"], r["seed"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    raw_path.write_text(json.dumps({"meta": meta, "records": _rounded(records)}),
                        encoding="utf-8")
    text = write_report(args.out, records, meta)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
