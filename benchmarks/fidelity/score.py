"""From raw runs to the numbers of the report and the two targets of issue 4.

Quality is the best *final* validation loss among trials trained to the full budget (what a
user can deploy); a pruned trial's partial curve never counts. Cumulative epochs count every
epoch trained, pruned trials' included.

* Target 1: for each (problem, seed) the full-budget search ends with quality ``Q`` after
  ``E`` epochs; a method's ratio is the cumulative epochs at which its quality first reaches
  ``Q``, over ``E`` (infinite if it never does within ``E``). The best dialed multi-fidelity
  method is the one with the smallest median ratio over all (problem, seed) runs; PASS when
  that median is at most 1/3.
* Target 2: at equal epochs (``E / 3`` and ``E``), that method's quality is at least as good as
  Optuna's HyperbandPruner's in at least half of the (problem, seed) runs, at both budgets.

Issue 22's targets for dialed's default with the resource declared (``dialed-auto``):

* A: never worse than the same sampler at full fidelity (``dialed-auto-full``) beyond seed
  noise: on every problem the 95% t-interval of the paired difference in final quality (seed by
  seed) does not lie above zero;
* B: better than Optuna's TPE + HyperbandPruner at equal epochs (the mean paired difference
  below zero) on at least three quarters of the problems;
* C: on the faithful problems (Spearman's rho of the cheapest budget against the final value at
  least 0.8), the median epochs to the full-budget search's final quality at most 1/3 of E.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

#: Every dialed method that screens is a candidate for "the best multi-fidelity method"
#: (the full-budget baseline is named "full-budget").
MF_PREFIX = "dialed-"


def anytime(run: dict[str, Any]) -> list[tuple[int, float]]:
    """``(cumulative epochs, best final loss so far)`` after each trial."""
    out, epochs, best = [], 0, math.inf
    for t in run["trials"]:
        epochs += t["epochs"]
        if t["final"] is not None:
            best = min(best, t["final"])
        out.append((epochs, best))
    return out


def best_at(run: dict[str, Any], budget: float) -> float:
    best = math.inf
    for epochs, value in anytime(run):
        if epochs > budget:
            break
        best = value
    return best


def epochs_to_reach(run: dict[str, Any], quality: float) -> float:
    for epochs, value in anytime(run):
        if value <= quality + 1e-12:
            return float(epochs)
    return math.inf


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    by_key = {(r["problem"], r["seed"], r["method"]): r for r in runs}
    problems = sorted({r["problem"] for r in runs}, key=[r["problem"] for r in runs].index)
    methods = list(dict.fromkeys(r["method"] for r in runs))
    seeds = sorted({r["seed"] for r in runs})
    rows: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    ratios: dict[str, list[float]] = defaultdict(list)
    pairs: list[tuple[str, int]] = []
    for p in problems:
        for s in seeds:
            full = by_key.get((p, s, "full-budget"))
            if full is None:
                continue
            pairs.append((p, s))
            quality = best_at(full, math.inf)
            budget = full["budget"]
            for m in methods:
                run = by_key.get((p, s, m))
                if run is None:
                    continue
                ratio = epochs_to_reach(run, quality) / budget
                ratios[m].append(ratio)
                cell = rows[p].setdefault(m, defaultdict(list))
                cell["third"].append(best_at(run, budget / 3))
                cell["full"].append(best_at(run, budget))
                cell["ratio"].append(ratio)
                cell["trials"].append(len(run["trials"]))
                cell["pruned"].append(sum(t["final"] is None for t in run["trials"]))
                cell["wall"].append(run["wall_seconds"])
                cell["overhead"].append(run["wall_seconds"] - run["train_seconds"])
    table = {
        p: {m: {k: (_median(v) if k not in ("trials", "pruned") else statistics.mean(v))
                for k, v in cell.items()} for m, cell in per.items()}
        for p, per in rows.items()
    }
    pooled = {m: _median(ratios[m]) for m in methods}
    candidates = [m for m in pooled if m.startswith(MF_PREFIX)]
    best = min(candidates, key=lambda m: (pooled[m], m)) if candidates else None
    target1 = best is not None and pooled[best] <= 1 / 3
    versus = {m: _versus(by_key, pairs, m, "optuna-hyperband") for m in methods
              if m.startswith(MF_PREFIX) and "optuna-hyperband" in methods}
    compare = versus.get(best, {}) if best is not None else {}
    target2 = bool(compare) and all(
        v["wins"] + v["ties"] + v["losses"] > 0 and (v["wins"] + v["ties"]) * 2
        >= v["wins"] + v["ties"] + v["losses"] for v in compare.values())
    return {
        "problems": problems, "methods": methods, "seeds": seeds, "table": table,
        "pooled_ratio": pooled, "best": best, "target1": target1, "compare": compare,
        "target2": target2, "versus": versus,
    }


def _versus(by_key: dict[tuple[str, int, str], dict[str, Any]], pairs: list[tuple[str, int]],
            method: str, other: str) -> dict[str, dict[str, int]]:
    """Run by run, how often ``method`` is better, equal or worse than ``other`` at E/3 and E."""
    out: dict[str, dict[str, int]] = {}
    for label, frac in (("E/3", 1 / 3), ("E", 1.0)):
        wins = ties = losses = 0
        for p, s in pairs:
            a, b = by_key.get((p, s, method)), by_key.get((p, s, other))
            if a is None or b is None:
                continue
            budget = by_key[(p, s, "full-budget")]["budget"] * frac
            va, vb = best_at(a, budget), best_at(b, budget)
            if va < vb - 1e-12:
                wins += 1
            elif va > vb + 1e-12:
                losses += 1
            else:
                ties += 1
        out[label] = {"wins": wins, "ties": ties, "losses": losses}
    return out


#: The rank correlation of the cheapest budget at which a problem counts as faithful (C).
FAITHFUL_RHO = 0.8
#: Two-sided 97.5% quantiles of Student's t (95% intervals), by degrees of freedom.
_T975 = {1: 12.71, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
         9: 2.262, 10: 2.228, 12: 2.179, 15: 2.131, 20: 2.086, 30: 2.042}


def _t975(df: int) -> float:
    return _T975[max(k for k in _T975 if k <= df)] if df >= 1 else math.inf


def paired(runs: list[dict[str, Any]], method: str, other: str) -> dict[str, dict[str, float]]:
    """Per problem: the mean, over seeds, of (method's final quality - other's) and its 95%
    t-interval."""
    by_key = {(r["problem"], r["seed"], r["method"]): r for r in runs}
    out: dict[str, dict[str, float]] = {}
    for p in dict.fromkeys(r["problem"] for r in runs):
        diffs = [best_at(by_key[(p, s, method)], math.inf) - best_at(by_key[(p, s, other)],
                                                                        math.inf)
                 for s in sorted({r["seed"] for r in runs})
                 if (p, s, method) in by_key and (p, s, other) in by_key]
        diffs = [d for d in diffs if math.isfinite(d)]
        if len(diffs) < 2:
            continue
        mean, sd = statistics.mean(diffs), statistics.stdev(diffs)
        half = _t975(len(diffs) - 1) * sd / math.sqrt(len(diffs))
        out[p] = {"mean": mean, "low": mean - half, "high": mean + half, "n": len(diffs)}
    return out


def issue22(runs: list[dict[str, Any]], faithfulness: dict[str, float]) -> dict[str, Any]:
    """Targets A, B and C for ``dialed-auto`` (see the module docstring)."""
    methods = {r["method"] for r in runs}
    if not {"dialed-auto", "dialed-auto-full", "optuna-hyperband"} <= methods:
        return {}
    full = paired(runs, "dialed-auto", "dialed-auto-full")
    optuna = paired(runs, "dialed-auto", "optuna-hyperband")
    a = bool(full) and all(v["low"] <= 0.0 for v in full.values())
    beats = [p for p, v in optuna.items() if v["mean"] < 0.0]
    b = bool(optuna) and len(beats) * 4 >= 3 * len(optuna)
    summary = summarise(runs)
    faithful = [p for p, rho in faithfulness.items() if rho >= FAITHFUL_RHO]
    ratios = {p: summary["table"][p]["dialed-auto"]["ratio"] for p in faithful
              if "dialed-auto" in summary["table"].get(p, {})}
    c = bool(ratios) and all(r <= 1 / 3 for r in ratios.values())
    return {"full": full, "optuna": optuna, "beats": beats, "faithful": ratios,
            "A": a, "B": b, "C": c}
