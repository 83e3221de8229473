"""Parameter importance: functional ANOVA over a random-forest surrogate.

Hutter, Hoos and Leyton-Brown 2014, "An Efficient Approach for Assessing Hyperparameter
Importance" (ICML, PMLR 32(1):754-762). A random forest is fitted to the complete trials in the
unit cube of the space (so a log-scale parameter is measured on its log scale, as the sampler
searches it), and each tree, a piecewise-constant function over axis-aligned leaf boxes, is
decomposed exactly into its functional ANOVA components under the uniform measure on the cube:

    f(x) = f_0 + Σ_U f_U(x_U),      V = Var f = Σ_U V_U      (paper, eq. 2-4)

For a set ``S`` of parameters the *marginal* ``a_S(x_S) = E[f | x_S]`` (paper, eq. 1) of a tree
with leaves ``l`` (box ``B_l``, value ``v_l``) is ``Σ_l v_l · 1[x_S ∈ B_l,S] · |B_l,¬S|``, so

    Var a_S = Σ_{l,m} v_l |B_l,¬S| · v_m |B_m,¬S| · |B_l,S ∩ B_m,S|  −  f_0²

exactly (``|·|`` the volume of a box's projection). For one parameter this is its main effect
``V_j``; the importance of ``j`` is ``V_j / V`` (paper, section 3.1), computed per tree and
averaged over the trees (the spread across trees is its ``std``).

**Family importance** is the *closed* index of the family ``F``: ``Var a_F / V``, the variance
explained by the family's parameters' main effects **and all their interactions within the
family** (``Σ_{∅≠U⊆F} V_U / V``), not the sum of the main effects. It is therefore at least the
sum of its parameters' main effects and at most 1; families may not add up to 1 when parameters
of different families interact.

scikit-learn is an extra (``pip install -e '.[sklearn]'``), imported when a forest is fitted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dialed._util import install_hint
from dialed.errors import ConfigError, NoTrialsError
from dialed.space import Space
from dialed.trial import TrialRecord, TrialState

__all__ = ["FanovaForest", "Importance", "param_importance"]

#: The fewest usable trials a forest is fitted to.
MIN_TRIALS = 4


@dataclass(frozen=True)
class Importance:
    """How much of the variance of ``metric`` each parameter and each family explains.

    ``params[name]`` is the fraction of variance explained by that parameter's main effect;
    ``families[family]`` the fraction explained by the family's parameters together (main
    effects and interactions within the family). Both lie in ``[0, 1]``; ``*_std`` is the
    spread across the forest's trees. Parameters without a family appear in ``params`` only.
    """

    metric: str
    params: Mapping[str, float]
    params_std: Mapping[str, float]
    families: Mapping[str, float]
    families_std: Mapping[str, float]
    n_trials: int
    n_trees: int
    method: str = "fanova-random-forest"
    skipped: Sequence[str] = field(default_factory=tuple)  # constant or rarely set parameters

    def ranked(self) -> list[tuple[str, float]]:
        """The parameters, most important first (ties by name)."""
        return sorted(self.params.items(), key=lambda kv: (-kv[1], kv[0]))

    def ranked_families(self) -> list[tuple[str, float]]:
        return sorted(self.families.items(), key=lambda kv: (-kv[1], kv[0]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "method": self.method,
            "n_trials": self.n_trials,
            "n_trees": self.n_trees,
            "params": dict(self.params),
            "params_std": dict(self.params_std),
            "families": dict(self.families),
            "families_std": dict(self.families_std),
            "skipped": list(self.skipped),
        }


class FanovaForest:
    """A random forest on the unit cube of a space, decomposed by functional ANOVA.

    ``x`` has shape ``(n, d)`` (columns in the order of ``names``, values in ``[0, 1]``), ``y``
    shape ``(n,)``. Build one from trial records with :meth:`from_trials`.
    """

    def __init__(
        self,
        names: Sequence[str],
        x: np.ndarray,
        y: np.ndarray,
        *,
        n_trees: int = 32,
        min_samples_leaf: int = 2,
        max_leaf_nodes: int | None = 512,
        seed: int = 0,
    ) -> None:
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        if x.ndim != 2 or x.shape[1] != len(names) or y.shape != (x.shape[0],):
            raise ConfigError(
                f"x must have shape (n, {len(names)}) and y shape (n,), got {x.shape} and {y.shape}"
            )
        if isinstance(n_trees, bool) or not isinstance(n_trees, int) or n_trees < 1:
            raise ConfigError(f"n_trees must be a whole number >= 1, got {n_trees!r}")
        if x.shape[0] < MIN_TRIALS:
            raise NoTrialsError(
                f"parameter importance needs at least {MIN_TRIALS} complete trials, "
                f"got {x.shape[0]}"
            )
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise ConfigError("x and y must be finite (leave out trials with missing values)")
        try:
            from sklearn.ensemble import RandomForestRegressor
        except ImportError:
            raise ConfigError(
                f"parameter importance needs scikit-learn: {install_hint('sklearn')}"
            ) from None
        self.names = list(names)
        #: parameters :meth:`from_trials` left out (constant, or rarely set)
        self.skipped: list[str] = []
        self.n_trials = int(x.shape[0])
        self.n_trees = n_trees
        forest = RandomForestRegressor(
            n_estimators=n_trees,
            min_samples_leaf=min_samples_leaf,
            max_leaf_nodes=max_leaf_nodes,
            random_state=seed,
            n_jobs=1,
        )
        forest.fit(x, y)
        self._trees = [_Tree.from_sklearn(est.tree_, len(self.names)) for est in forest.estimators_]

    @classmethod
    def from_trials(
        cls,
        trials: Sequence[TrialRecord],
        space: Space,
        metric: str,
        *,
        n_trees: int = 32,
        max_trials: int | None = None,
        min_coverage: float = 0.5,
        seed: int = 0,
    ) -> FanovaForest:
        """Fit to the complete trials with a finite ``metric`` (a seeded sample of
        ``max_trials`` of them when there are more). Parameters set in fewer than
        ``min_coverage`` of those trials, and parameters with a single value, are left out
        (listed in ``skipped``); then trials missing a kept parameter are left out."""
        names, x, y, skipped = _design(trials, space, metric, min_coverage, max_trials, seed)
        if not names:
            raise NoTrialsError(
                f"no parameter to assess: every parameter is constant or set in fewer than "
                f"{min_coverage:.0%} of the complete trials with {metric!r}"
            )
        out = cls(names, x, y, n_trees=n_trees, seed=seed)
        out.skipped = skipped
        return out

    # -- the decomposition ---------------------------------------------------------------------
    def variance_fraction(self, names: Sequence[str]) -> tuple[float, float]:
        """``Var E[f | x_names] / Var f`` averaged over the trees, and its std across trees.

        For one name that is the main effect's share; for several, their main effects and
        all interactions among them. Trees that predict a constant are left out; (0, 0) when
        every tree does.
        """
        idx = [self._index(n) for n in names]
        fractions = []
        for tree in self._trees:
            if tree.variance <= 0.0:
                continue
            fractions.append(min(1.0, tree.marginal_variance(idx) / tree.variance))
        if not fractions:
            return 0.0, 0.0
        arr = np.asarray(fractions)
        return float(arr.mean()), float(arr.std())

    def marginal(self, names: Sequence[str], grid: int = 25) -> np.ndarray:
        """``E[f | x_names]`` averaged over the trees, on a ``grid``-per-axis lattice of cell
        centres of the unit square (or line): shape ``(grid,)`` or ``(grid, grid)``, indexed
        ``[i]`` / ``[i, j]`` for ``x_names[0] = (i + 0.5) / grid`` (and ``x_names[1]`` by j)."""
        if len(names) not in (1, 2):
            raise ConfigError(f"marginal() takes one or two parameter names, got {list(names)}")
        idx = [self._index(n) for n in names]
        centres = (np.arange(grid) + 0.5) / grid
        total = np.zeros((grid,) * len(idx))
        for tree in self._trees:
            total += tree.marginal_on_grid(idx, centres)
        return total / len(self._trees)

    def importance(self, space: Space, metric: str) -> Importance:
        """Each parameter's main effect and each family's closed index (see the top)."""
        params: dict[str, float] = {}
        params_std: dict[str, float] = {}
        for name in self.names:
            params[name], params_std[name] = self.variance_fraction([name])
        families: dict[str, float] = {}
        families_std: dict[str, float] = {}
        for family, members in space.families().items():
            kept = [m for m in members if m in self.names]
            if family and kept:
                families[family], families_std[family] = self.variance_fraction(kept)
        return Importance(
            metric=metric, params=params, params_std=params_std, families=families,
            families_std=families_std, n_trials=self.n_trials, n_trees=self.n_trees,
            skipped=tuple(self.skipped),
        )

    def _index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise ConfigError(
                f"parameter {name!r} is not in the forest (it has {', '.join(self.names)})"
            ) from None


def param_importance(
    trials: Sequence[TrialRecord],
    space: Space,
    metric: str,
    *,
    n_trees: int = 32,
    max_trials: int | None = None,
    seed: int = 0,
) -> Importance:
    """The importance of each parameter and each family of ``space`` for ``metric``.

    ``trials`` are records of one study (only the complete ones with a finite ``metric`` are
    used); ``max_trials`` caps how many the forest is fitted to (a seeded random sample).
    """
    forest = FanovaForest.from_trials(trials, space, metric, n_trees=n_trees,
                                      max_trials=max_trials, seed=seed)
    return forest.importance(space, metric)


# -- one tree ------------------------------------------------------------------------------------
class _Tree:
    """A fitted regression tree as its leaf boxes ``[lo, hi)`` (shape ``(L, d)``) and values."""

    def __init__(self, lo: np.ndarray, hi: np.ndarray, value: np.ndarray) -> None:
        self.lo, self.hi, self.value = lo, hi, value
        self.width = hi - lo  # (L, d)
        self.volume = self.width.prod(axis=1)  # (L,)
        self.mean = float(self.volume @ value)  # f_0
        self.variance = max(0.0, float(self.volume @ value**2) - self.mean**2)  # V
        # features the tree splits on: the others leave every box the whole [0, 1]
        self.split = [j for j in range(lo.shape[1]) if (self.width[:, j] < 1.0).any()]

    @classmethod
    def from_sklearn(cls, tree: Any, d: int) -> _Tree:
        left = np.asarray(tree.children_left)
        right = np.asarray(tree.children_right)
        feature = np.asarray(tree.feature)
        threshold = np.clip(np.asarray(tree.threshold, dtype=float), 0.0, 1.0)
        values = np.asarray(tree.value).reshape(tree.node_count, -1)[:, 0]
        lo = np.zeros((tree.node_count, d))
        hi = np.ones((tree.node_count, d))
        # the boxes of one depth at a time: a left child keeps x <= threshold, a right one x >
        frontier = np.array([0])
        while frontier.size:
            split = frontier[left[frontier] != -1]
            f, t = feature[split], threshold[split]
            lft, rgt = left[split], right[split]
            lo[lft], hi[lft] = lo[split], hi[split]
            hi[lft, f] = np.minimum(hi[split, f], t)
            lo[rgt], hi[rgt] = lo[split], hi[split]
            lo[rgt, f] = np.maximum(lo[split, f], t)
            frontier = np.concatenate([left[split], right[split]])
        leaves = left == -1
        return cls(lo[leaves], hi[leaves], values[leaves].astype(float))

    def _weights(self, idx: Sequence[int]) -> np.ndarray:
        """``v_l · |B_l,¬S|``: each leaf's value times its volume outside the set ``idx``."""
        others = [j for j in range(self.lo.shape[1]) if j not in idx]
        out: np.ndarray = self.value * self.width[:, others].prod(axis=1)
        return out

    def marginal_variance(self, idx: Sequence[int]) -> float:
        """``Var E[f | x_idx]`` of this tree, exactly (the formula at the top)."""
        split = [j for j in idx if j in self.split]
        if not split:
            return 0.0
        a = self._weights(idx)
        if len(split) == 1:
            return max(0.0, self._one_dim_second_moment(a, split[0]) - self.mean**2)
        overlap = np.ones((a.size, a.size))
        for j in split:
            lo, hi = self.lo[:, j], self.hi[:, j]
            overlap *= np.clip(np.minimum.outer(hi, hi) - np.maximum.outer(lo, lo), 0.0, None)
        return max(0.0, float(a @ overlap @ a) - self.mean**2)

    def _one_dim_second_moment(self, a: np.ndarray, j: int) -> float:
        """``∫ (Σ_l a_l 1[x ∈ [lo_lj, hi_lj)])² dx`` on the breakpoints of feature ``j``."""
        points = np.unique(np.concatenate([self.lo[:, j], self.hi[:, j], [0.0, 1.0]]))
        # the marginal is constant between breakpoints: add a_l where a box starts, take it
        # away where it ends, and accumulate
        delta = np.zeros(points.size)
        np.add.at(delta, np.searchsorted(points, self.lo[:, j]), a)
        np.add.at(delta, np.searchsorted(points, self.hi[:, j]), -a)
        level = np.cumsum(delta)[:-1]
        return float(np.diff(points) @ level**2)

    def marginal_on_grid(self, idx: Sequence[int], centres: np.ndarray) -> np.ndarray:
        a = self._weights(idx)
        inside = [
            ((self.lo[:, j][None, :] <= centres[:, None])
             & (centres[:, None] < self.hi[:, j][None, :])).astype(float)  # (grid, L)
            for j in idx
        ]
        if len(inside) == 1:
            out: np.ndarray = inside[0] @ a
            return out
        grid2: np.ndarray = (inside[0] * a) @ inside[1].T
        return grid2


# -- the design matrix ---------------------------------------------------------------------------
def _design(
    trials: Sequence[TrialRecord], space: Space, metric: str, min_coverage: float,
    max_trials: int | None, seed: int,
) -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
    usable = [
        t for t in trials
        if t.state == TrialState.COMPLETE and metric in t.metrics
        and math.isfinite(float(t.metrics[metric]))
    ]
    if len(usable) < MIN_TRIALS:
        seen = any(metric in t.metrics for t in trials)
        what = "complete trials" if seen or not trials else f"trials reporting {metric!r}"
        raise NoTrialsError(
            f"parameter importance needs at least {MIN_TRIALS} {what} with a finite "
            f"{metric!r}, got {len(usable)}"
        )
    if max_trials is not None and len(usable) > max_trials:  # sample before anything else
        keep = np.sort(np.random.default_rng(seed).choice(len(usable), max_trials,
                                                          replace=False))
        usable = [usable[i] for i in keep]
    names, skipped = [], []
    for name, dist in space.items():
        covered = sum(1 for t in usable if name in t.params)
        if dist.single or covered < min_coverage * len(usable):
            skipped.append(name)
        else:
            names.append(name)
    rows = [t for t in usable if all(n in t.params for n in names)]
    sub = space.subset(names)
    x = np.array([sub.encode(t.params) for t in rows], dtype=float).reshape(len(rows), len(names))
    y = np.array([float(t.metrics[metric]) for t in rows])
    ok = np.isfinite(x).all(axis=1)
    return names, x[ok], y[ok], skipped
