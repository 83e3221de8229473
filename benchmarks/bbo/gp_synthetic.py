"""The GP sampler alone on smooth synthetic functions: best regret after a few dozen trials.

A check beside bayesmark (whose ML losses are noisy and stepped) for what a cheaper GP could
lose: the precision of its optima on smooth functions. ``GPSampler(seed=s)`` with its defaults,
sequential trials, on Hartmann-6, Branin, Rosenbrock-5 (log), Ackley-4 and Levy-3 (each on the
unit cube, regret to the known minimum); each run writes the final regrets to a JSON file, and
``--compare`` pairs two such files seed by seed (log10 regret, Wilcoxon's signed-rank test).

    PYTHONPATH=src python -m benchmarks.bbo.gp_synthetic --seeds 16 --out after.json
    python -m benchmarks.bbo.gp_synthetic --compare before.json after.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence

import numpy as np


def _hartmann6(x: np.ndarray) -> float:
    a = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
                  [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
    p = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                         [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])
    alpha = np.array([1.0, 1.2, 3.0, 3.2])
    return -float(alpha @ np.exp(-(a * (x - p) ** 2).sum(1))) + 3.32237


def _branin(x: np.ndarray) -> float:
    x1, x2 = 15 * x[0] - 5, 15 * x[1]
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    return float((x2 - b * x1**2 + c * x1 - 6) ** 2
                 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10 - 0.397887)


def _rosenbrock5(x: np.ndarray) -> float:
    z = 4 * x - 2
    return float(np.log1p(np.sum(100 * (z[1:] - z[:-1] ** 2) ** 2 + (1 - z[:-1]) ** 2)))


def _ackley4(x: np.ndarray) -> float:
    z = 6 * x - 2.5
    return float(-20 * np.exp(-0.2 * np.sqrt((z * z).mean()))
                 - np.exp(np.cos(2 * np.pi * z).mean()) + 20 + np.e)


def _levy3(x: np.ndarray) -> float:
    w = 1 + (20 * x - 11) / 4
    return float(np.sin(np.pi * w[0]) ** 2
                 + (((w[:-1] - 1) ** 2) * (1 + 10 * np.sin(np.pi * w[:-1] + 1) ** 2)).sum()
                 + (w[-1] - 1) ** 2 * (1 + np.sin(2 * np.pi * w[-1]) ** 2))


FUNCTIONS: dict[str, tuple[Callable[[np.ndarray], float], int]] = {
    "hartmann6": (_hartmann6, 6), "branin": (_branin, 2), "rosenbrock5": (_rosenbrock5, 5),
    "ackley4": (_ackley4, 4), "levy3": (_levy3, 3),
}


def run(seeds: Sequence[int], trials: int) -> dict[str, list[float]]:
    from dialed.history import History, Memo
    from dialed.metrics import MetricSet
    from dialed.samplers import GPSampler
    from dialed.space import Space
    from dialed.trial import TrialRecord, TrialState

    out: dict[str, list[float]] = {}
    for name, (f, d) in FUNCTIONS.items():
        space = Space({f"x{i}": {"type": "float", "low": 0.0, "high": 1.0} for i in range(d)})
        for s in seeds:
            sampler, memo, done = GPSampler(seed=s), Memo(), []
            for i in range(trials):
                history = History(space, MetricSet(), tuple(done), memo=memo)
                p = sampler.suggest(history, space, i)
                v = f(np.array([p[f"x{j}"] for j in range(d)]))
                done.append(TrialRecord(trial_id=i + 1, study_id=1, number=i,
                                        state=TrialState.COMPLETE, seed=i, params=p,
                                        metrics={"value": v}))
            out.setdefault(name, []).append(min(t.metrics["value"] for t in done))
    return out


def _log(r: Sequence[float]) -> np.ndarray:
    return np.log10(np.maximum(np.asarray(r, dtype=float), 1e-8))


def compare(a: dict[str, list[float]], b: dict[str, list[float]]) -> str:
    from scipy import stats

    lines, diffs = [], []
    for name in a:
        d = _log(b[name]) - _log(a[name])
        diffs.append(d)
        lines.append(f"{name}: mean log10 regret {_log(a[name]).mean():.2f} -> "
                     f"{_log(b[name]).mean():.2f}, second better in {(d < 0).sum()}/{len(d)}")
    d = np.concatenate(diffs)
    boot = [np.random.default_rng(i).choice(d, len(d)).mean() for i in range(2000)]
    lo, hi = np.percentile(boot, [2.5, 97.5])
    lines.append(f"all: second - first = {d.mean():+.3f} log10 regret (95% CI {lo:+.3f} .. "
                 f"{hi:+.3f}), second better in {(d < 0).sum()}/{len(d)}, Wilcoxon p "
                 f"{stats.wilcoxon(d).pvalue:.3f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--trials", type=int, default=60)
    ap.add_argument("--out", help="JSON file of the final regrets")
    ap.add_argument("--compare", nargs=2, metavar=("FIRST", "SECOND"))
    args = ap.parse_args(argv)
    if args.compare:
        loaded = []
        for path in args.compare:
            with open(path) as fh:
                loaded.append(json.load(fh))
        print(compare(loaded[0], loaded[1]))
        return 0
    regrets = run(range(args.first_seed, args.first_seed + args.seeds), args.trials)
    for name, r in regrets.items():
        print(f"{name}: mean log10 regret {_log(r).mean():.2f}")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(regrets, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
