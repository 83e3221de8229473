"""Quasi-random search on a scrambled Sobol' sequence.

I. M. Sobol', "On the distribution of points in a cube and the approximate evaluation of
integrals", USSR Computational Mathematics and Mathematical Physics 7(4), 86-112 (1967).
A. B. Owen, "Scrambling Sobol' and Niederreiter-Xing points", Journal of Complexity 14(4),
466-489 (1998).

The first ``2^k`` points of a Sobol' sequence put the same number of points in every dyadic box
of volume ``2^-k`` (Sobol' 1967), so they cover the unit cube more evenly than independent
uniform draws. Scrambling (Owen 1998; SciPy applies the linear-matrix scramble with a random
digital shift) keeps that balance, removes the point at the origin and makes the sequence a
random one that a seed fixes. The sequence comes from :class:`scipy.stats.qmc.Sobol`.

Trial ``number`` takes point ``number`` of the sequence for the dimension of the space it is
asked about, so workers in different processes agree without talking to one another.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dialed._util import derive_seed
from dialed.history import History, Memo
from dialed.samplers._base import Sampler
from dialed.space import Space

__all__ = ["SobolSampler"]

_MAXDIM = 21201  # scipy.stats.qmc.Sobol.MAXDIM: the direction numbers it ships


class SobolSampler(Sampler):
    """Trial ``number`` gets point ``number`` of a seeded, scrambled Sobol' sequence.

    Parameters the joint space does not hold (a conditional branch seen for the first time)
    are drawn uniformly by :meth:`Sampler.suggest_one`.
    """

    name = "sobol"

    def __init__(self, seed: int | None = None, scramble: bool = True) -> None:
        super().__init__(seed)
        self._scramble = bool(scramble)

    @property
    def scramble(self) -> bool:
        return self._scramble

    def suggest(self, history: History, space: Space, number: int) -> dict[str, Any]:
        d = len(space)
        if d == 0:
            return {}
        point = self._point(history.memo, d, number)
        if point is None:  # beyond what a Sobol' sequence holds: plain uniform draws
            params = {
                name: self.suggest_one(history, name, dist, number, {})
                for name, dist in space.items()
            }
        else:
            params = {
                name: dist.from_unit(float(u))
                for (name, dist), u in zip(space.items(), point, strict=True)
            }
        return self.unseen(history, space, number, params)  # discrete cells recur in a sequence

    def _point(self, memo: Memo, d: int, number: int) -> np.ndarray | None:
        """Point ``number`` of the sequence in dimension ``d``, shape ``(d,)``.

        The scipy engine, wound to a point, is kept in the history's memo between trials
        (taken while in use, so that two callers never wind one engine).
        """
        if self._seed is None:
            self._seed = derive_seed(0)
        if number < 0 or d > _MAXDIM:
            return None
        key = ("sobol", self._seed, d, self._scramble)
        engine = memo.take(key)
        if engine is None:
            engine = self._new_engine(d, self._seed)
        try:
            if number >= engine.maxn:
                return None
            # Asked in order (n after n - 1) the engine only steps on; asked for an earlier
            # point it rewinds. Either way the point depends only on (seed, d, number).
            if engine.num_generated > number:
                engine.reset()
            skip = number - engine.num_generated
            if skip > 0:
                engine.fast_forward(skip)
            point: np.ndarray = engine.random(1)[0]
        finally:
            memo.put(key, engine)
        return point

    def _new_engine(self, d: int, seed: int) -> Any:
        from scipy.stats import qmc  # scipy.stats takes seconds to import: only when used

        gen = np.random.default_rng(derive_seed(seed, "sobol", d))
        try:
            return qmc.Sobol(d, scramble=self._scramble, rng=gen)
        except TypeError:  # SciPy < 1.15 names the argument `seed`; a Generator is used as is
            return qmc.Sobol(d, scramble=self._scramble, seed=gen)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "options": {"scramble": self._scramble}}
