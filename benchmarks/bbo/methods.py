"""Every method the benchmark compares, behind one ask/tell interface.

A :class:`Method` is built for one run (a problem's space, a seed, the budget) and then driven
in bayesmark's batch protocol: per iteration, :meth:`Method.ask` is called ``batch`` times (the
earlier suggestions are still running while the later ones are asked), then every suggestion is
evaluated and :meth:`Method.tell` is called for each. Parameters travel in the search coordinates
of :class:`~benchmarks.bbo.problems.Param` (logit-scale reals as their logit), and every method
gets the same space: reals linear or log, ints linear or log, booleans as two categories.

Method names: ``dialed-<sampler>`` for any sampler :func:`dialed.samplers.make_sampler` knows
(``auto``, ``tpe``, ``gp``, ``cmaes``, and ``random``/``sobol`` while developing),
``optuna-tpe`` (Optuna's default sampler, ``TPESampler`` with its defaults), ``optuna-gp``
(``GPSampler``), ``hyperopt-tpe`` (``hyperopt.tpe.suggest`` with its defaults) and ``random``
(uniform draws of our own, the reference of the scoring).
"""

from __future__ import annotations

import abc
import importlib
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from benchmarks.bbo.problems import Param

__all__ = ["DEFAULT_METHODS", "Method", "make_method", "method_available"]

#: The methods a run compares unless told otherwise.
DEFAULT_METHODS = (
    "dialed-auto",
    "dialed-tpe",
    "dialed-gp",
    "dialed-cmaes",
    "optuna-tpe",
    "optuna-gp",
    "hyperopt-tpe",
    "random",
)


class Method(abc.ABC):
    """One optimiser for one run. ``ask`` returns a token and the parameters to evaluate."""

    def __init__(self, space: Sequence[Param], seed: int, budget: int, batch: int) -> None:
        self.space = tuple(space)
        self.seed = seed
        self.budget = budget
        self.batch = batch

    @abc.abstractmethod
    def ask(self) -> tuple[Any, dict[str, Any]]:
        """A new suggestion: ``(token, params)``; ``token`` goes back to :meth:`tell`."""

    @abc.abstractmethod
    def tell(self, token: Any, loss: float) -> None:
        """The loss of a suggestion (``inf``: the evaluation failed)."""

    def info(self) -> dict[str, Any] | None:
        """What the method chose, for the raw record (dialed: the sampler's decision)."""
        return None


# -- dialed ----------------------------------------------------------------------------------
class DialedMethod(Method):
    """A dialed study in memory, driven by ``Study.ask``/``Study.tell``.

    ``ask`` starts a trial and suggests the whole declared space (the sampler's joint proposal
    is made there). The sampler's ``plan`` hook gets the run's budget and batch size, as
    ``Study.optimize(n_trials=budget, n_jobs=batch)`` would give it.
    """

    def __init__(self, sampler: str, space: Sequence[Param], seed: int, budget: int,
                 batch: int) -> None:
        super().__init__(space, seed, budget, batch)
        import dialed

        self._space = dialed.Space({p.name: _dialed_spec(p) for p in self.space})
        self._study = dialed.create_study(
            f"bbo-{sampler}-{seed}", direction="minimize", sampler=sampler, seed=seed,
            space=self._space,
        )
        self._study.sampler.plan(self._space, self._study.metrics, n_trials=budget,
                                 n_jobs=batch)

    def ask(self) -> tuple[Any, dict[str, Any]]:
        import dialed

        try:
            trial = self._study.ask()
        except dialed.SearchExhausted:
            # A grid that auto chose for a small discrete space has tried every configuration
            # (the optimum is among them); the protocol still asks for the whole budget, so the
            # best one is evaluated again, which changes no best-so-far.
            return None, dict(self._study.best_params)
        return trial, trial.suggest_space(self._space)

    def tell(self, token: Any, loss: float) -> None:
        if token is None:  # a repeat after the search was exhausted (see ask)
            return
        if math.isfinite(loss):
            self._study.tell(token, loss)
        else:
            self._study.tell(token, state="failed", error="the model's fit failed")

    def info(self) -> dict[str, Any] | None:
        return self._study.sampler.decision()


def _dialed_spec(p: Param) -> Any:
    if p.kind == "bool":
        return [False, True]
    kind = "int" if p.kind == "int" else "float"
    return {"type": kind, "low": p.search_low, "high": p.search_high, "log": p.log}


# -- Optuna ----------------------------------------------------------------------------------
class OptunaMethod(Method):
    """An Optuna study in memory, driven by ``Study.ask(distributions)``/``Study.tell``."""

    def __init__(self, sampler: str, space: Sequence[Param], seed: int, budget: int,
                 batch: int) -> None:
        super().__init__(space, seed, budget, batch)
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        if sampler == "tpe":
            chosen: Any = optuna.samplers.TPESampler(seed=seed)
        elif sampler == "gp":
            chosen = optuna.samplers.GPSampler(seed=seed)
        else:
            raise ValueError(f"no Optuna sampler {sampler!r} here; use tpe or gp")
        self._study = optuna.create_study(direction="minimize", sampler=chosen)
        self._dists = {p.name: _optuna_dist(p) for p in self.space}
        self._fail = optuna.trial.TrialState.FAIL

    def ask(self) -> tuple[Any, dict[str, Any]]:
        trial = self._study.ask(self._dists)
        return trial, dict(trial.params)

    def tell(self, token: Any, loss: float) -> None:
        if math.isfinite(loss):
            self._study.tell(token, loss)
        else:
            self._study.tell(token, state=self._fail)


def _optuna_dist(p: Param) -> Any:
    from optuna import distributions as d

    if p.kind == "bool":
        return d.CategoricalDistribution([False, True])
    if p.kind == "int":
        return d.IntDistribution(int(p.search_low), int(p.search_high), log=p.log)
    return d.FloatDistribution(p.search_low, p.search_high, log=p.log)


# -- Hyperopt --------------------------------------------------------------------------------
class HyperoptMethod(Method):
    """Hyperopt's TPE through its ``Trials``/``suggest`` API, one suggestion per ask.

    Each ask inserts a new trial document; until it is told, hyperopt's TPE counts it with an
    infinite loss (its own treatment of running jobs). Integers are ``quniform`` /
    ``qloguniform`` over ``[low - 0.5, high + 0.5]`` (every value an equal share), booleans
    ``hp.choice``.
    """

    def __init__(self, space: Sequence[Param], seed: int, budget: int, batch: int) -> None:
        super().__init__(space, seed, budget, batch)
        from hyperopt import Trials, hp
        from hyperopt.base import Domain

        spec: dict[str, Any] = {}
        for p in self.space:
            if p.kind == "bool":
                spec[p.name] = hp.choice(p.name, [False, True])
            elif p.kind == "int" and p.log:
                spec[p.name] = hp.qloguniform(p.name, math.log(p.low - 0.5),
                                              math.log(p.high + 0.5), 1)
            elif p.kind == "int":
                spec[p.name] = hp.quniform(p.name, p.low - 0.5, p.high + 0.5, 1)
            elif p.log:
                spec[p.name] = hp.loguniform(p.name, math.log(p.low), math.log(p.high))
            else:
                spec[p.name] = hp.uniform(p.name, p.search_low, p.search_high)
        self._domain = Domain(_never_called, spec)
        self._trials = Trials()
        self._rng = np.random.default_rng(seed)

    def ask(self) -> tuple[Any, dict[str, Any]]:
        from hyperopt import tpe

        new_ids = self._trials.new_trial_ids(1)
        self._trials.refresh()
        seed = int(self._rng.integers(2**31 - 1))
        docs = tpe.suggest(new_ids, self._domain, self._trials, seed)
        self._trials.insert_trial_docs(docs)
        self._trials.refresh()
        (doc,) = docs
        vals = doc["misc"]["vals"]
        params: dict[str, Any] = {}
        for p in self.space:
            (v,) = vals[p.name]
            params[p.name] = [False, True][int(v)] if p.kind == "bool" else v
        return doc["tid"], params

    def tell(self, token: Any, loss: float) -> None:
        from hyperopt.base import JOB_STATE_DONE, STATUS_FAIL, STATUS_OK

        (doc,) = [d for d in self._trials.trials if d["tid"] == token]
        doc["state"] = JOB_STATE_DONE
        doc["result"] = (
            {"loss": float(loss), "status": STATUS_OK} if math.isfinite(loss)
            else {"status": STATUS_FAIL}
        )
        self._trials.refresh()


def _never_called(_: Any) -> float:
    raise RuntimeError("the benchmark evaluates hyperopt's suggestions itself")


# -- random search ---------------------------------------------------------------------------
class RandomMethod(Method):
    """Uniform random search in the search coordinates (log-uniform on log scales)."""

    def __init__(self, space: Sequence[Param], seed: int, budget: int, batch: int) -> None:
        super().__init__(space, seed, budget, batch)
        self._rng = np.random.default_rng(seed)

    def ask(self) -> tuple[Any, dict[str, Any]]:
        params: dict[str, Any] = {}
        for p in self.space:
            if p.kind == "bool":
                params[p.name] = bool(self._rng.random() < 0.5)
            elif p.kind == "int" and p.log:
                u = self._rng.uniform(math.log(p.low - 0.5), math.log(p.high + 0.5))
                params[p.name] = int(min(max(round(math.exp(u)), p.low), p.high))
            elif p.kind == "int":
                params[p.name] = int(self._rng.integers(int(p.low), int(p.high) + 1))
            elif p.log:
                params[p.name] = math.exp(self._rng.uniform(math.log(p.low), math.log(p.high)))
            else:
                params[p.name] = float(self._rng.uniform(p.search_low, p.search_high))
        return None, params

    def tell(self, token: Any, loss: float) -> None:
        pass


# -- the registry ----------------------------------------------------------------------------
def make_method(name: str, space: Sequence[Param], seed: int, budget: int,
                batch: int) -> Method:
    """The method called ``name`` for one run."""
    builders: dict[str, Callable[[], Method]] = {
        "optuna-tpe": lambda: OptunaMethod("tpe", space, seed, budget, batch),
        "optuna-gp": lambda: OptunaMethod("gp", space, seed, budget, batch),
        "hyperopt-tpe": lambda: HyperoptMethod(space, seed, budget, batch),
        "random": lambda: RandomMethod(space, seed, budget, batch),
    }
    if name in builders:
        return builders[name]()
    if name.startswith("dialed-"):
        return DialedMethod(name.removeprefix("dialed-"), space, seed, budget, batch)
    raise ValueError(
        f"unknown method {name!r}; use dialed-<sampler>, {', '.join(sorted(builders))}"
    )


def method_available(name: str) -> str | None:
    """Why ``name`` cannot run here (a missing package or sampler), or None when it can."""
    needs = {"optuna-tpe": ["optuna"], "optuna-gp": ["optuna", "torch"],
             "hyperopt-tpe": ["hyperopt"], "random": []}
    try:
        if name.startswith("dialed-"):
            from dialed.samplers import make_sampler

            make_sampler(name.removeprefix("dialed-"))
        elif name in needs:
            for module in needs[name]:
                importlib.import_module(module)
        else:
            return f"unknown method {name!r}"
    except Exception as exc:  # a missing package or an unregistered sampler
        return f"{type(exc).__name__}: {exc}"
    return None
