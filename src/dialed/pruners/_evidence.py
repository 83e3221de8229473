"""How well a cheap budget predicts the full one, measured on the study's own trials.

Y. Li, Y. Shen, H. Jiang, W. Zhang, J. Li, J. Liu, C. Zhang, B. Cui, "Hyper-Tune: Towards
Efficient Hyper-parameter Tuning at Scale", VLDB 15(6), 2022, Sec. 4: low-fidelity results help
only as far as they rank configurations as the full budget does, and that agreement is to be
measured per problem, not assumed. S. Falkner, A. Klein, F. Hutter, "BOHB", ICML 2018: a
model should learn from the largest budget that has enough observations.

For each rung (a budget at which trials are compared), the pairs are the trials observed both
there and at the full budget (complete trials' final value). Their agreement is Spearman's
rank correlation ``rho`` (ties averaged) with a 95% interval through Fisher's ``z``::

    (E1)  z = atanh(rho),   se(z) = sqrt((1 + rho^2 / 2) / (n - 3))

(the variance of Spearman's coefficient: D. G. Bonett and T. A. Wright, "Sample size
requirements for estimating Pearson, Kendall and Spearman correlations", Psychometrika 65(1),
2000, Eq. 4). A rung *predicts* when ``rho`` is at least ``min_rho`` and positive with
one-sided 80% confidence: ``z / se(z) > 0.84`` (E2); with three pairs, where (E1) has no
variance, only a perfect agreement (``rho = 1``, which independent rankings show one time in
six) counts. Only a rung that predicts may stop a trial, and only a budget whose evidence is
*settled* (E3) feeds a model-based sampler. Until then a rung is *unproven* and stops nothing:
the first trials run to the full budget and make the pairs (no range restriction: a trial
promoted for looking good early is not a fair witness of how well early looks predict).

Two rules guard against a cheap budget that predicts by chance (with three pairs, one time in
six), which then stops trials for good, since a promoted trial rarely reaches the full budget
to refute it:

* (E3) while a predicting rung's 95% interval still reaches below ``min_rho`` (its evidence is
  not *settled*), one trial in ``WITNESS_EVERY`` is a *witness*, chosen by its number alone: the
  rung does not stop it, so pairs from a fair sample keep arriving and a rung that misleads
  loses its standing;
* (E4) a rung predicts only if every dearer rung predicts too: where cheap budgets are faithful
  the agreement grows with the budget, so a cheap rung that agrees where a dearer one does not
  agrees by chance.

A model learns from a budget only where it proposes, near the best trials, and a budget can
rank the whole range right (the poor configurations far below the good ones) while it orders
the good ones by noise or towards a moved optimum. O. Bohdal, L. Balles, M. Wistuba, B. Ermis,
C. Archambeau, G. Zappella, "PASHA: Efficient HPO and NAS with Progressive Resource
Allocation", ICLR 2023, judge a budget by how stably it ranks the best configurations, for the
same reason. So:

* (E5) once the better half of a rung's pairs (those with the better full-budget values)
  holds three or more, the rung stops trials only while it predicts among them too, by (E2);
  and a settled budget feeds a model-based sampler only if it does.

The evidence is weighed, not proven: the level and the thresholds are what
benchmarks/results/fidelity.md supports (the runs behind them in benchmarks/results/notes.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from dialed.history import History
from dialed.pruners._fidelity import FULL, fidelity_observations

__all__ = ["MIN_PAIRS", "MIN_RHO", "WITNESS_EVERY", "Evidence", "fidelity_evidence", "spearman",
           "spearman_interval", "witness"]

#: Pairs a rung needs before it may stop a trial (fewer: it is unproven).
MIN_PAIRS = 3
#: The rank correlation a rung needs with the full budget to stop a trial.
MIN_RHO = 0.5
#: (E3): while a rung's evidence is not settled, one trial in this many is a witness that it
#: does not stop.
WITNESS_EVERY = 3
#: (E2): the one-sided 80% normal quantile.
_Z_80 = 0.8416
#: Values closer to +-1 than this are clipped before atanh (E1).
_CLIP = 0.999


@dataclass(frozen=True)
class Evidence:
    """How well the budget ``level`` predicted the full budget, over ``pairs`` trials."""

    level: float
    pairs: int
    rho: float | None  # None with fewer than 3 pairs
    low: float | None  # the 95% interval of rho (E1)
    high: float | None
    predicts: bool
    #: (E3): it predicts, and its whole 95% interval lies at or above ``min_rho``
    settled: bool = False
    #: (E5): the rank correlation among the better half of the pairs (None: fewer than
    #: three), and whether it predicts
    best_rho: float | None = None
    best_predicts: bool = False

    @property
    def may_stop(self) -> bool:
        """(E2) and (E5): the rung may stop trials (a witness aside, E3)."""
        return self.predicts and (self.best_rho is None or self.best_predicts)

    @property
    def feeds_model(self) -> bool:
        """(E3) and (E5): a model-based sampler may learn from this budget (not before its
        better half is measured)."""
        return self.settled and self.best_predicts

    def describe(self, unit: str) -> str:
        if self.rho is None:
            return f"{self.level:g} {unit}: unproven ({self.pairs} trials seen at the full budget)"
        if self.may_stop:
            verdict = "predicts" if self.settled else "predicts, not settled (witnesses run on)"
            if self.settled:
                verdict += (", the sampler learns from it" if self.feeds_model
                            else ", the sampler does not learn from it yet")
        elif self.predicts:
            verdict = "does not predict among the better trials: stops nothing"
        else:
            verdict = "unproven" if self.pairs < MIN_PAIRS else "does not predict"
        among = "" if self.best_rho is None else f", {self.best_rho:.2f} among the better half"
        return (f"{self.level:g} {unit}: rank correlation with the full budget {self.rho:.2f} "
                f"[{self.low:.2f}, {self.high:.2f}] over {self.pairs} trials{among}, {verdict}")


def fidelity_evidence(history: History, levels: Sequence[float], *,
                      min_pairs: int = MIN_PAIRS, min_rho: float = MIN_RHO) -> list[Evidence]:
    """The evidence of each of ``levels`` (rung resources, ascending), from ``history``."""
    obs = fidelity_observations(history, levels, full=True)
    loss = history.metrics.primary.loss
    top = {tid: loss(v) for tid, v in obs[FULL].items()}
    out = []
    for level in sorted(float(x) for x in levels):
        both = [(loss(v), top[tid]) for tid, v in obs[level].items() if tid in top]
        n = len(both)
        if n < 3:
            out.append(Evidence(level, n, None, None, None, False))
            continue
        a, b = zip(*both, strict=True)
        rho = spearman(a, b)
        low, high = spearman_interval(rho, n)
        predicts = _predicts(rho, n, min_pairs, min_rho)
        best = sorted(both, key=lambda pair: pair[1])[: n // 2]  # (E5): by the full budget
        best_rho = spearman(*zip(*best, strict=True)) if len(best) >= 3 else None
        best_predicts = best_rho is not None and _predicts(best_rho, len(best), 3, min_rho)
        out.append(Evidence(level, n, rho, low, high, predicts, predicts and low >= min_rho,
                            best_rho, best_predicts))
    for i in range(len(out) - 2, -1, -1):  # (E4): only below dearer rungs that predict
        if out[i].predicts and not out[i + 1].predicts:
            out[i] = replace(out[i], predicts=False, settled=False)
    return out


def _predicts(rho: float, n: int, min_pairs: int, min_rho: float) -> bool:
    """(E2): at least ``min_pairs`` pairs, ``rho >= min_rho`` and positive with one-sided 80%
    confidence (with three pairs, only a perfect agreement)."""
    if n < max(min_pairs, 3) or rho < min_rho:
        return False
    if n == 3:
        return rho >= _CLIP
    return math.atanh(max(-_CLIP, min(_CLIP, rho))) / _se(rho, n) > _Z_80


def witness(number: int) -> bool:
    """Whether trial ``number`` is a witness (E3): a rule of its number only, never of its
    values, so that witnesses are a fair sample."""
    return number % WITNESS_EVERY == WITNESS_EVERY - 1


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation of two equally long sequences (ties get average ranks);
    0 when either is constant."""
    ra, rb = _ranks(np.asarray(a, dtype=float)), _ranks(np.asarray(b, dtype=float))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = math.sqrt(float(ra @ ra) * float(rb @ rb))
    return 0.0 if denom == 0.0 else float(ra @ rb) / denom


def spearman_interval(rho: float, n: int) -> tuple[float, float]:
    """The 95% interval of a Spearman coefficient over ``n`` pairs (E1); ``(-1, 1)`` for
    ``n <= 3``."""
    if n <= 3:
        return -1.0, 1.0
    r = max(-_CLIP, min(_CLIP, rho))
    half = 1.959964 * _se(r, n)
    z = math.atanh(r)
    return math.tanh(z - half), math.tanh(z + half)


def _se(rho: float, n: int) -> float:
    """The standard error of Fisher's z of a Spearman coefficient over ``n > 3`` pairs (E1)."""
    return math.sqrt((1.0 + rho * rho / 2.0) / (n - 3))


def _ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x), dtype=float)
    sorted_x = x[order]
    i = 0
    while i < len(x):  # average the ranks of ties
        j = i
        while j + 1 < len(x) and sorted_x[j + 1] == sorted_x[i]:
            j += 1
        if j > i:
            ranks[order[i:j + 1]] = (i + j) / 2.0
        i = j + 1
    return ranks
