"""Where the default sampler's CPU goes: the run of ``extra.py`` split by stage (issue 23).

The same run as the "default sampler, 200 trials in memory" figure of ``extra.py`` (dialed's
``auto``, a trivial objective over 5 floats, seed 0), in a fresh process per round, with the
CPU seconds of each stage summed by wrapping the functions that do it:

* ``imports``: the modules the samplers import lazily on their first use (the GP's model and
  acquisition with the SciPy modules they import, TPE), imported before the timer here and shown
  apart; in ``extra.py`` they fall inside the timed ``optimize`` call (before the GP's
  start-up and candidates left ``scipy.stats.qmc``, this included ``scipy.stats``);
* ``gp``: ``GPSampler.suggest``; within it ``fit`` (the hyperparameters' MAP fits) and
  ``polish`` (L-BFGS-B on the acquisition), the rest being the candidates' scoring, the
  output warping and the posterior;
* ``tpe``: ``TPESampler.suggest`` (the turns TPE takes after the GP's lead);
* ``total``: the ``optimize`` call, the engine's own work included;
* ``stats``: whether ``scipy.stats`` was loaded by the end of the run (1) or not (0).

    PYTHONPATH=src python -m benchmarks.overhead.gp_cost [--rounds 3]

``--baseline DIR`` measures another checkout's ``src`` (a worktree of the revision before a
change) in alternate rounds, the order flipped each round, and prints both medians and the
paired differences; ``--vary-seed`` gives round ``r`` the study seed ``r`` instead of 0, so
that a change of the trajectory (other points, other fits) is averaged over.

    PYTHONPATH=src python -m benchmarks.overhead.gp_cost --rounds 8 --baseline ../main
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
KEYS = ("imports", "total", "gp", "fit", "polish", "tpe", "stats")

_CODE = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
import dialed
c = time.process_time()
import dialed.samplers._gp as G, dialed.samplers._gp_acq as A, dialed.samplers._tpe as T
import dialed.samplers._gp_model as M
imports = time.process_time() - c
acc = {"gp": 0.0, "fit": 0.0, "polish": 0.0, "tpe": 0.0}
def timed(owner, name, key):
    f = getattr(owner, name)
    def g(*a, **k):
        c = time.process_time()
        try:
            return f(*a, **k)
        finally:
            acc[key] += time.process_time() - c
    setattr(owner, name, g)
timed(G.GPSampler, "suggest", "gp")
# the GP imports its model at the first fit (since 5848f4b); older trees bound the fit in _gp
timed(G if hasattr(G, "fit_hyperparameters") else M, "fit_hyperparameters", "fit")
timed(A, "_polish", "polish")
timed(T.TPESampler, "suggest", "tpe")
def objective(trial):
    return sum((trial.suggest_float(f"x{i}", -5.0, 5.0) - 1.0) ** 2 for i in range(5))
study = dialed.create_study(direction="minimize", seed=SEED)
c0 = time.process_time()
study.optimize(objective, n_trials=200)
print(json.dumps({"imports": imports, "total": time.process_time() - c0, **acc,
                  "stats": int("scipy.stats" in sys.modules), "best": study.best_value}))
"""


def _child(tree: Path, seed: int) -> dict[str, Any]:
    """One round in a fresh interpreter on ``tree``'s ``src``, one thread for BLAS/OpenMP."""
    env = dict(os.environ, PYTHONPATH=str(tree / "src"))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    done = subprocess.run([sys.executable, "-c", _CODE.replace("SEED", str(seed))], cwd=tree,
                          env=env, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--baseline", type=Path, help="another checkout, measured in alternate rounds")
    ap.add_argument("--vary-seed", action="store_true", help="round r uses study seed r")
    args = ap.parse_args(argv)
    trees = {"this": ROOT}
    if args.baseline is not None:
        trees = {"baseline": args.baseline.resolve(), "this": ROOT}
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    for r in range(args.rounds):
        order = list(trees) if r % 2 == 0 else list(trees)[::-1]
        for name in order:
            rows[name].append(_child(trees[name], r if args.vary_seed else 0))
            shown = {k: round(float(rows[name][-1][k]), 3) for k in KEYS}
            print(json.dumps({"tree": name, "round": r, **shown,
                              "best": float(f"{rows[name][-1]['best']:.3g}")}), flush=True)
    for name, got in rows.items():
        med = {k: statistics.median(float(x[k]) for x in got) for k in KEYS}
        both = statistics.median(float(x["imports"]) + float(x["total"]) for x in got)
        print(f"{name}: median CPU s: " + ", ".join(f"{k} {v:.2f}" for k, v in med.items())
              + f", imports + total {both:.2f}")
    if args.baseline is not None:
        for key in ("imports", "total"):
            diff = [float(a[key]) - float(b[key])
                    for a, b in zip(rows["this"], rows["baseline"], strict=True)]
            print(f"this - baseline, {key}: median {statistics.median(diff):+.2f} s "
                  f"(per round: {', '.join(f'{d:+.2f}' for d in diff)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
