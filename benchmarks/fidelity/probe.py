"""A cheap check of a few methods on one problem over many seeds (the lab notes' runs).

The quick benchmark's five seeds leave a paired 95% interval wide enough to hide a real
difference between two methods; this runs any methods of :mod:`benchmarks.fidelity.methods`
on one problem of the quick mode for seeds 0..N-1 (each against the full-budget search of the
same seed, as the benchmark does) and prints each method's mean final quality, its median
epochs to the full search's quality (a fraction of ``E``), and the paired difference of every
method's final quality from the first's with its standard error.

    PYTHONPATH=src python benchmarks/fidelity/probe.py Bowl4-misleading --seeds 20 \\
        --methods dialed-auto dialed-auto-full optuna-hyperband
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
ROOT = Path(__file__).resolve().parents[2]
for _path in (ROOT, ROOT / "src"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from benchmarks.fidelity.methods import run_method  # noqa: E402
from benchmarks.fidelity.problems import problems  # noqa: E402
from benchmarks.fidelity.score import best_at, epochs_to_reach  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("problem")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--methods", nargs="+", default=["dialed-auto", "optuna-hyperband"])
    parser.add_argument("--full-trials", type=int, default=12)
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="each run's trials: epochs trained, * for a complete one")
    args = parser.parse_args(argv)
    problem = next(p for p in problems(True) if p.name == args.problem)
    budget = args.full_trials * problem.max_epochs
    finals: dict[str, list[float]] = {m: [] for m in args.methods}
    ratios: dict[str, list[float]] = {m: [] for m in args.methods}
    for seed in range(args.seeds):
        curve_of = problem.make(seed)
        quality = best_at(run_method("full-budget", problem, curve_of, seed, budget), math.inf)
        for m in args.methods:
            run = run_method(m, problem, curve_of, seed, budget)
            finals[m].append(best_at(run, budget))
            ratios[m].append(epochs_to_reach(run, quality) / budget)
            if args.verbose:
                print(f"seed {seed} {m}: " + " ".join(
                    f"{t['epochs']}{'*' if t['final'] is not None else ''}"
                    for t in run["trials"]), flush=True)
    first = args.methods[0]
    print(f"{problem.name}, seeds 0..{args.seeds - 1}, E = {budget} epochs")
    for m in args.methods:
        line = (f"  {m:<22} mean final {statistics.mean(finals[m]):.4f}  median epochs to "
                f"the full search's quality {statistics.median(ratios[m]):.3f} E")
        if m != first and args.seeds > 1:
            d = [a - b for a, b in zip(finals[first], finals[m], strict=True)]
            se = statistics.stdev(d) / math.sqrt(len(d))
            line += f"  ({first} - this: {statistics.mean(d):+.4f}, se {se:.4f})"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
