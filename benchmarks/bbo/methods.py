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
(``GPSampler``), ``hyperopt-tpe`` (``hyperopt.tpe.suggest`` with its defaults), ``hebo``
(HEBO, the 2020 challenge's winner, in its own virtualenv driven over a pipe: see
``hebo_driver.py`` and :func:`hebo_python`), ``smac`` (SMAC3's ``HyperparameterOptimizationFacade``,
random forest), ``smac-bb`` (SMAC3's ``BlackBoxFacade``, GP) and ``random`` (uniform draws of
our own, the reference of the scoring).
"""

from __future__ import annotations

import abc
import contextlib
import importlib
import json
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.bbo.problems import Param

__all__ = ["DEFAULT_METHODS", "Method", "hebo_python", "make_method", "method_available"]

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

    def helper_cpu_s(self) -> float:
        """CPU seconds spent so far in helper processes (HEBO's driver), which this process's
        ``time.process_time`` does not see; the benchmark adds the part spent in each ask."""
        return 0.0

    def close(self) -> None:  # noqa: B027 - most methods hold nothing to release
        """Release helper processes and files."""


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


# -- HEBO ------------------------------------------------------------------------------------
HEBO_PYTHON_ENV = "BBO_HEBO_PYTHON"
_HEBO_DEFAULT = Path(__file__).resolve().parents[2] / ".bench-venvs" / "hebo" / "bin" / "python"


def hebo_python() -> Path:
    """The Python of HEBO's virtualenv: ``$BBO_HEBO_PYTHON`` (``run.py --hebo-python`` sets it),
    else ``.bench-venvs/hebo/bin/python`` in the repository (see benchmarks/README.md)."""
    return Path(os.environ.get(HEBO_PYTHON_ENV) or _HEBO_DEFAULT)


class HeboMethod(Method):
    """HEBO in its own virtualenv (it pins NumPy 1.24), driven through ``hebo_driver.py``.

    HEBO proposes a batch per call (``suggest(n_suggestions=batch)``, its MACE batch
    acquisition, as it ran in the 2020 challenge): the first ask of an iteration fetches the
    whole batch and the others hand it out, so the suggest time per trial is the batch call's
    time divided among its trials. HEBO has no notion of pending points.
    """

    def __init__(self, space: Sequence[Param], seed: int, budget: int, batch: int) -> None:
        super().__init__(space, seed, budget, batch)
        driver = Path(__file__).resolve().parent / "hebo_driver.py"
        self._proc = subprocess.Popen(
            [str(hebo_python()), str(driver)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self._cpu = 0.0
        self._queue: list[dict[str, Any]] = []
        self._asked = 0
        self._call({"op": "init", "seed": seed, "space": [
            {"name": p.name, "kind": p.kind, "log": p.log, "low": p.search_low,
             "high": p.search_high} for p in self.space]})

    def _call(self, req: dict[str, Any]) -> dict[str, Any]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps(req) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"HEBO's driver ({hebo_python()}) ended without answering "
                               f"{req['op']!r}")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"HEBO's driver: {reply['error']}")
        self._cpu += float(reply.get("cpu_s", 0.0))
        return reply

    def ask(self) -> tuple[Any, dict[str, Any]]:
        if not self._queue:
            n = max(1, min(self.batch, self.budget - self._asked))
            self._queue = list(self._call({"op": "ask", "n": n})["params"])
        params = self._queue.pop(0)
        self._asked += 1
        return dict(params), params

    def tell(self, token: Any, loss: float) -> None:
        self._call({"op": "tell", "params": [token],
                    "losses": [loss if math.isfinite(loss) else None]})

    def helper_cpu_s(self) -> float:
        return self._cpu

    def close(self) -> None:
        if self._proc.poll() is None:
            with contextlib.suppress(RuntimeError, OSError, ValueError):
                self._call({"op": "quit"})
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()


# -- SMAC3 -----------------------------------------------------------------------------------
class SmacMethod(Method):
    """SMAC3 through ``ask``/``tell`` of a facade: ``hpo`` (``HyperparameterOptimizationFacade``,
    a random forest over a Sobol initial design) or ``bb`` (``BlackBoxFacade``, a GP), with
    the facade's defaults, ``deterministic=True`` (one evaluation per configuration) and
    ``n_trials`` = the budget. Booleans are a two-valued categorical."""

    def __init__(self, facade: str, space: Sequence[Param], seed: int, budget: int,
                 batch: int) -> None:
        super().__init__(space, seed, budget, batch)
        import logging

        from ConfigSpace import Categorical, ConfigurationSpace, Float, Integer
        from smac import BlackBoxFacade, HyperparameterOptimizationFacade, Scenario

        logging.getLogger("smac").setLevel(logging.ERROR)
        cs = ConfigurationSpace(seed=seed)
        for p in self.space:
            if p.kind == "bool":
                cs.add(Categorical(p.name, ["False", "True"]))
            elif p.kind == "int":
                cs.add(Integer(p.name, (int(p.low), int(p.high)), log=p.log))
            else:
                cs.add(Float(p.name, (p.search_low, p.search_high), log=p.log))
        self._dir = tempfile.mkdtemp(prefix="bbo-smac-")
        scenario = Scenario(cs, deterministic=True, n_trials=budget, seed=seed,
                            output_directory=Path(self._dir) / "run")
        cls = {"hpo": HyperparameterOptimizationFacade, "bb": BlackBoxFacade}[facade]
        self._smac = cls(scenario, _smac_never_called, overwrite=True, logging_level=40)

    def ask(self) -> tuple[Any, dict[str, Any]]:
        info = self._smac.ask()
        config = dict(info.config)
        params: dict[str, Any] = {}
        for p in self.space:
            v = config[p.name]
            params[p.name] = (v == "True") if p.kind == "bool" else (
                int(v) if p.kind == "int" else float(v))
        return info, params

    def tell(self, token: Any, loss: float) -> None:
        from smac.runhistory.dataclasses import TrialValue
        from smac.runhistory.enumerations import StatusType

        if math.isfinite(loss):
            self._smac.tell(token, TrialValue(cost=float(loss)))
        else:
            self._smac.tell(token, TrialValue(cost=float("inf"), status=StatusType.CRASHED))

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)


def _smac_never_called(config: Any, seed: int = 0) -> float:
    raise RuntimeError("the benchmark evaluates SMAC's suggestions itself")


# -- the registry ----------------------------------------------------------------------------
def make_method(name: str, space: Sequence[Param], seed: int, budget: int,
                batch: int) -> Method:
    """The method called ``name`` for one run."""
    builders: dict[str, Callable[[], Method]] = {
        "optuna-tpe": lambda: OptunaMethod("tpe", space, seed, budget, batch),
        "optuna-gp": lambda: OptunaMethod("gp", space, seed, budget, batch),
        "hyperopt-tpe": lambda: HyperoptMethod(space, seed, budget, batch),
        "random": lambda: RandomMethod(space, seed, budget, batch),
        "hebo": lambda: HeboMethod(space, seed, budget, batch),
        "smac": lambda: SmacMethod("hpo", space, seed, budget, batch),
        "smac-bb": lambda: SmacMethod("bb", space, seed, budget, batch),
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
             "hyperopt-tpe": ["hyperopt"], "random": [], "smac": ["smac"],
             "smac-bb": ["smac"]}
    try:
        if name == "hebo":
            python = hebo_python()
            if not python.exists():
                return (f"no HEBO virtualenv at {python} (set {HEBO_PYTHON_ENV} or pass "
                        "--hebo-python; benchmarks/README.md shows how to make one)")
            subprocess.run([str(python), "-c", "import hebo"], check=True,
                           capture_output=True, timeout=300)
        elif name.startswith("dialed-"):
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
