"""Where the default sampler's CPU goes: the run of ``extra.py`` split by stage (issue 23).

The same run as the "default sampler, 200 trials in memory" figure of ``extra.py`` (dialed's
``auto``, a trivial objective over 5 floats, seed 0), in a fresh process per round, with the
CPU seconds of each stage summed by wrapping the functions that do it:

* ``imports``: the modules the samplers import lazily on their first use (the GP's modules
  with the SciPy optimisers they import, TPE), imported before the timer here and shown
  apart; in ``extra.py`` they fall inside the timed ``optimize`` call (before the GP's
  start-up and candidates left ``scipy.stats.qmc``, this included ``scipy.stats``);
* ``gp``: ``GPSampler.suggest``; within it ``fit`` (the hyperparameters' MAP fits) and
  ``polish`` (L-BFGS-B on the acquisition), the rest being the candidates' scoring, the
  output warping and the posterior;
* ``tpe``: ``TPESampler.suggest`` (the turns TPE takes after the GP's lead);
* ``total``: the ``optimize`` call, the engine's own work included;
* ``stats``: whether ``scipy.stats`` was loaded by the end of the run (1) or not (0).

    PYTHONPATH=src python -m benchmarks.overhead.gp_cost [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Sequence

from benchmarks.overhead.extra import _child

_CODE = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
import dialed
c = time.process_time()
import dialed.samplers._gp as G, dialed.samplers._gp_acq as A, dialed.samplers._tpe as T
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
timed(G, "fit_hyperparameters", "fit")
timed(A, "_polish", "polish")
timed(T.TPESampler, "suggest", "tpe")
def objective(trial):
    return sum((trial.suggest_float(f"x{i}", -5.0, 5.0) - 1.0) ** 2 for i in range(5))
study = dialed.create_study(direction="minimize", seed=0)
c0 = time.process_time()
study.optimize(objective, n_trials=200)
print(json.dumps({"imports": imports, "total": time.process_time() - c0, **acc,
                  "stats": int("scipy.stats" in sys.modules), "best": study.best_value}))
"""


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    rounds = [_child(_CODE) for _ in range(args.rounds)]
    keys = ("imports", "total", "gp", "fit", "polish", "tpe", "stats")
    for r in rounds:
        print(json.dumps({**{k: round(float(r[k]), 3) for k in keys},
                          "best": float(f"{r['best']:.3g}")}))
    med = {k: statistics.median(float(r[k]) for r in rounds) for k in keys}
    print("median CPU s: " + ", ".join(f"{k} {v:.2f}" for k, v in med.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
