"""The conformance suite every sampler passes.

A test module subclasses :class:`SamplerSuite` and provides a ``make_sampler`` fixture, a
callable from a seed to a fresh sampler::

    import pytest
    from dialed.samplers import RandomSampler
    from dialed.testing.samplers import SamplerSuite

    class TestRandomSampler(SamplerSuite):
        @pytest.fixture
        def make_sampler(self):
            return lambda seed: RandomSampler(seed=seed)

Every check works on :class:`~dialed.space.Space`, :class:`~dialed.samplers.History` and
:class:`~dialed.trial.TrialRecord` objects built here (no study, no storage), and asks the
sampler what the engine would: :meth:`Sampler.suggest` for the joint proposal, then
:meth:`Sampler.suggest_one` for every parameter it left out (see :func:`propose`). A grid-like
sampler (``grid_like = True``) is checked through the cells of :meth:`Sampler.queue` instead.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np
import pytest

from dialed.history import History
from dialed.metrics import MetricSet
from dialed.samplers import Sampler
from dialed.space import (
    CategoricalDistribution,
    Distribution,
    FloatDistribution,
    IntDistribution,
    Space,
)
from dialed.trial import TrialRecord, TrialState

__all__ = [
    "SINGLE_VALUED",
    "MakeSampler",
    "SamplerSuite",
    "messy_history",
    "mixed_space",
    "propose",
    "random_history",
]

#: A callable from a seed to a fresh sampler: what a suite subclass's ``make_sampler`` returns.
MakeSampler = Callable[[int], Sampler]

#: Parameters that can take one value only; added to the mixed space by one check.
SINGLE_VALUED: dict[str, dict[str, Any]] = {
    "fixed_float": {"type": "float", "low": 1.5, "high": 1.5},
    "fixed_log": {"type": "float", "low": 0.01, "high": 0.01, "log": True},
    "fixed_int": {"type": "int", "low": 3, "high": 3},
    "fixed_choice": {"type": "categorical", "choices": ["only"]},
}


def mixed_space() -> Space:
    """One parameter of every kind, categorical choices of mixed JSON types included.

    ``lr`` and ``momentum`` are continuous: a grid-like sampler must be given their values.
    """
    return Space({
        "lr": {"type": "float", "low": 1e-5, "high": 1e-1, "log": True, "family": "optimizer"},
        "momentum": {"type": "float", "low": 0.0, "high": 0.99, "family": "optimizer"},
        "dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.1,
                    "family": "regularization"},
        "layers": {"type": "int", "low": 1, "high": 6, "family": "architecture"},
        "width": {"type": "int", "low": 8, "high": 512, "log": True, "family": "architecture"},
        "batch": {"type": "int", "low": 16, "high": 128, "step": 16, "family": "batch"},
        "activation": {"type": "categorical", "choices": [None, "relu", 3, [1, 2], 0.5]},
    })


def _metric_values(
    metrics: MetricSet, x: np.ndarray, rng: np.random.Generator
) -> dict[str, float]:
    """Metric values for a trial at unit-cube point ``x``: smooth in ``x`` plus a little noise."""
    out: dict[str, float] = {}
    x = np.nan_to_num(x, nan=0.5)
    for k, (name, metric) in enumerate(metrics.items()):
        centre = 0.2 + 0.15 * k
        value = float(np.sum((x - centre) ** 2) + 0.01 * rng.standard_normal())
        if metric.role == "objective" and metric.direction == "maximize":
            value = 1.0 - value
        elif metric.role == "constraint":
            value = float(1024 * rng.random())
        out[name] = value
    return out


def random_history(
    space: Space,
    metrics: MetricSet | None = None,
    n: int = 30,
    seed: int = 0,
) -> History:
    """``n`` finished trials at uniform random points of ``space``, numbered ``0 .. n-1``."""
    metrics = MetricSet() if metrics is None else metrics
    rng = np.random.default_rng(seed)
    trials = []
    for i in range(n):
        x = rng.random(len(space))
        trials.append(TrialRecord(
            trial_id=i + 1, study_id=1, number=i, state=TrialState.COMPLETE, seed=i,
            params=space.decode(x), metrics=_metric_values(metrics, x, rng),
        ))
    return History(space, metrics, tuple(trials))


def messy_history(space: Space, metrics: MetricSet | None = None, n: int = 40) -> History:
    """Finished, failed, pruned and running trials, some missing parameters or objectives."""
    metrics = MetricSet() if metrics is None else metrics
    rng = np.random.default_rng(1234)
    names = list(space)
    trials = []
    for i in range(n):
        x = rng.random(len(space))
        params = space.decode(x)
        kind = i % 6
        if kind in (1, 4):  # a conditional branch: some parameters never asked for
            for name in names[1::2]:
                params.pop(name, None)
        common: dict[str, Any] = {
            "trial_id": i + 1, "study_id": 1, "number": i, "seed": i, "params": params,
        }
        if kind in (0, 1, 4):
            trials.append(TrialRecord(
                state=TrialState.COMPLETE, metrics=_metric_values(metrics, x, rng), **common,
            ))
        elif kind == 2:
            trials.append(TrialRecord(state=TrialState.FAILED, error="RuntimeError: boom",
                                      **common))
        elif kind == 3:
            curve = {step: float(rng.random()) for step in range(3)}
            trials.append(TrialRecord(state=TrialState.PRUNED, intermediate=curve, **common))
        else:
            trials.append(TrialRecord(state=TrialState.RUNNING, **common))
    # A finished trial that returned no objective (only a tracked value) and one with no params.
    trials.append(TrialRecord(
        trial_id=n + 1, study_id=1, number=n, state=TrialState.COMPLETE, seed=n,
        params=space.decode(rng.random(len(space))), metrics={"unrelated": 1.0},
    ))
    trials.append(TrialRecord(
        trial_id=n + 2, study_id=1, number=n + 1, state=TrialState.FAILED, seed=n + 1,
    ))
    return History(space, metrics, tuple(trials))


def propose(sampler: Sampler, history: History, space: Space, number: int) -> dict[str, Any]:
    """What the engine asks for a new trial: the joint proposal, then each parameter left out."""
    params = dict(sampler.suggest(history, space, number))
    for name, dist in space.items():
        if name not in params:
            params[name] = sampler.suggest_one(history, name, dist, number, dict(params))
    return params


def _canonical(params: Mapping[str, Any]) -> str:
    return json.dumps(params, sort_keys=True)


class SamplerSuite:
    """Checks every sampler passes; subclass it and provide a ``make_sampler`` fixture."""

    #: ``suggest`` proposes every parameter of the space (no parameter left to ``suggest_one``).
    proposes_jointly: ClassVar[bool] = True
    #: Configurations come from ``queue`` (a grid) and ``suggest`` only reports the end.
    grid_like: ClassVar[bool] = False

    @pytest.fixture
    def make_sampler(self) -> MakeSampler:
        raise NotImplementedError(
            f"{type(self).__name__} must define a `make_sampler` fixture returning a callable "
            "from a seed to a fresh sampler"
        )

    @pytest.fixture
    def space(self) -> Space:
        return mixed_space()

    # -- helpers -----------------------------------------------------------------------------
    def _propose(
        self, sampler: Sampler, history: History, number: int, space: Space | None = None
    ) -> dict[str, Any]:
        space = history.space if space is None else space
        if self.grid_like:
            cells = sampler.queue(space)
            assert cells, f"{sampler.name}: a grid-like sampler queued no configuration"
            return dict(cells[number % len(cells)])
        if self.proposes_jointly:
            joint = sampler.suggest(history, space, number)
            assert set(joint) == set(space), (
                f"{sampler.name}: the joint proposal covers {sorted(joint)}, "
                f"the space has {sorted(space)}"
            )
        return propose(sampler, history, space, number)

    def _check_inside(self, sampler: Sampler, space: Space, params: Mapping[str, Any]) -> None:
        assert set(params) == set(space), (
            f"{sampler.name}: proposed {sorted(params)}, the space has {sorted(space)}"
        )
        space.validate(params)  # raises SpaceError naming the parameter outside its range
        for name, value in params.items():
            _check_plain(name, space[name], value)
        json.dumps(params)  # the storage records parameters as JSON

    # -- checks ------------------------------------------------------------------------------
    def test_first_trial_inside_space(self, make_sampler: MakeSampler, space: Space) -> None:
        sampler = make_sampler(0)
        history = History(space, MetricSet())
        self._check_inside(sampler, space, self._propose(sampler, history, 0))

    def test_inside_space_after_history(self, make_sampler: MakeSampler, space: Space) -> None:
        sampler = make_sampler(0)
        history = random_history(space, n=30)
        for number in range(30, 34):
            self._check_inside(sampler, space, self._propose(sampler, history, number))

    def test_same_seed_same_history_same_suggestion(
        self, make_sampler: MakeSampler, space: Space
    ) -> None:
        for history, numbers in (
            (History(space, MetricSet()), [0, 1, 2, 5]),
            (random_history(space, n=30), [30, 31, 33]),
        ):
            first = make_sampler(7)
            want = {n: self._propose(first, history, n) for n in numbers}
            again = {n: self._propose(first, history, n) for n in numbers}
            assert again == want, f"{first.name}: asked twice, the same instance changed its mind"
            fresh = make_sampler(7)
            backwards = {n: self._propose(fresh, history, n) for n in reversed(numbers)}
            assert backwards == want, (
                f"{first.name}: a fresh instance with the same seed, asked in another order, "
                "proposed something else"
            )

    def test_different_seeds_differ(self, make_sampler: MakeSampler, space: Space) -> None:
        history = History(space, MetricSet())
        a, b = make_sampler(0), make_sampler(1)
        proposals_a = [self._propose(a, history, n) for n in range(5)]
        proposals_b = [self._propose(b, history, n) for n in range(5)]
        assert proposals_a != proposals_b, f"{a.name}: seeds 0 and 1 proposed the same"

    def test_messy_history(self, make_sampler: MakeSampler, space: Space) -> None:
        sampler = make_sampler(3)
        for history in (messy_history(space, n=40), messy_history(space, n=5)):
            number = len(history.trials)
            for k in range(3):
                self._check_inside(sampler, space, self._propose(sampler, history, number + k))

    def test_only_unfinished_history(self, make_sampler: MakeSampler, space: Space) -> None:
        sampler = make_sampler(3)
        history = messy_history(space, n=40)
        unfinished = tuple(t for t in history.trials if t.state != TrialState.COMPLETE)
        history = History(space, history.metrics, unfinished)
        self._check_inside(sampler, space, self._propose(sampler, history, 50))

    def test_suggest_one_outside_joint_space(
        self, make_sampler: MakeSampler, space: Space
    ) -> None:
        if self.grid_like:
            pytest.skip("a grid proposes only the parameters of its cells")
        sampler = make_sampler(5)
        extra: dict[str, Distribution] = {
            "new_log_float": FloatDistribution(1e-6, 1.0, log=True, name="new_log_float"),
            "new_step_float": FloatDistribution(-1.0, 1.0, step=0.25, name="new_step_float"),
            "new_log_int": IntDistribution(2, 4096, log=True, name="new_log_int"),
            "new_step_int": IntDistribution(0, 100, step=5, name="new_step_int"),
            "new_choice": CategoricalDistribution(("a", None, 7, [3]), name="new_choice"),
        }
        for history in (History(space, MetricSet()), random_history(space, n=30)):
            number = len(history.trials)
            params = propose(sampler, history, space, number)
            for name, dist in extra.items():
                value = sampler.suggest_one(history, name, dist, number, params)
                assert dist.contains(value), f"{sampler.name}: {name}={value!r} is outside"
                _check_plain(name, dist, value)
                again = make_sampler(5).suggest_one(history, name, dist, number, params)
                assert again == value, f"{sampler.name}: {name} is not repeatable"
                params[name] = value

    def test_single_valued_distributions(self, make_sampler: MakeSampler, space: Space) -> None:
        full = Space(space)
        for name, spec in SINGLE_VALUED.items():
            full.add(name, spec)
        sampler = make_sampler(0)
        for history in (History(full, MetricSet()), random_history(full, n=30)):
            params = self._propose(sampler, history, len(history.trials))
            self._check_inside(sampler, full, params)
            assert params["fixed_float"] == 1.5
            assert params["fixed_log"] == 0.01
            assert params["fixed_int"] == 3
            assert params["fixed_choice"] == "only"

    def test_multi_objective_history(self, make_sampler: MakeSampler, space: Space) -> None:
        metrics = MetricSet({
            "loss": "minimize", "accuracy": "maximize", "memory_mb": "<= 512",
            "epochs": "track",
        })
        sampler = make_sampler(0)
        for history in (random_history(space, metrics, n=30), messy_history(space, metrics)):
            number = len(history.trials)
            self._check_inside(sampler, space, self._propose(sampler, history, number))

    def test_maximize_history(self, make_sampler: MakeSampler, space: Space) -> None:
        sampler = make_sampler(0)
        history = random_history(space, MetricSet({"accuracy": "maximize"}), n=30)
        self._check_inside(sampler, space, self._propose(sampler, history, 30))

    def test_not_all_identical(self, make_sampler: MakeSampler, space: Space) -> None:
        if self.grid_like:
            pytest.skip("a grid proposes each cell once; its order is checked on its own")
        sampler = make_sampler(0)
        history = History(space, MetricSet())
        seen = {_canonical(self._propose(sampler, history, n)) for n in range(20)}
        assert len(seen) > 1, f"{sampler.name}: 20 trials all got the same proposal"

    def test_no_repeat_of_a_finished_or_running_configuration(
        self, make_sampler: MakeSampler
    ) -> None:
        """On a small discrete space (36 configurations, 18 of them finished or running), no
        proposal repeats a trial's configuration: it would measure nothing new."""
        if self.grid_like:
            pytest.skip("a grid proposes each cell once; the engine claims each cell once")
        space = Space({
            "layers": {"type": "int", "low": 1, "high": 4},
            "act": {"type": "categorical", "choices": ["relu", "tanh", "gelu"]},
            "dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.25},
        })
        cells = space.grid()
        rng = np.random.default_rng(5)
        taken = [cells[i] for i in rng.permutation(len(cells))[:18]]
        trials = [
            TrialRecord(trial_id=i + 1, study_id=1, number=i, seed=i, params=dict(params),
                        state=TrialState.RUNNING if i % 6 == 5 else TrialState.COMPLETE,
                        metrics={} if i % 6 == 5 else {"value": float(rng.random())})
            for i, params in enumerate(taken)
        ]
        history = History(space, MetricSet(), tuple(trials))
        taken_keys = {_canonical(c) for c in taken}
        for seed in range(3):
            sampler = make_sampler(seed)
            for number in range(18, 26):
                params = self._propose(sampler, history, number)
                self._check_inside(sampler, space, params)
                assert _canonical(params) not in taken_keys, (
                    f"{sampler.name} (seed {seed}) proposed trial {number} the configuration "
                    f"of an earlier trial, {params}, with 18 others untried"
                )

    def test_queue(self, make_sampler: MakeSampler, space: Space) -> None:
        sampler = make_sampler(0)
        cells = sampler.queue(space)
        if cells is None:
            assert not self.grid_like, f"{sampler.name}: a grid-like sampler queued nothing"
            return
        keys = [_canonical(c) for c in cells]
        assert len(set(keys)) == len(keys), f"{sampler.name}: a configuration is queued twice"
        for cell in cells:
            self._check_inside(sampler, space, cell)
        assert make_sampler(0).queue(space) == cells, f"{sampler.name}: the queue is not seeded"

    def test_survives_pickling(self, make_sampler: MakeSampler, space: Space) -> None:
        # Process executors send the sampler to each worker.
        sampler = make_sampler(11)
        history = random_history(space, n=30)
        want = self._propose(sampler, history, 31)
        clone = pickle.loads(pickle.dumps(sampler))
        assert self._propose(clone, history, 31) == want
        assert self._propose(clone, history, 30) == self._propose(sampler, history, 30)

    def test_describe_is_json(self, make_sampler: MakeSampler) -> None:
        described = make_sampler(0).describe()
        assert isinstance(described.get("name"), str)
        json.dumps(described)  # recorded with the study

    def test_describe_rebuilds_the_sampler(self, make_sampler: MakeSampler) -> None:
        """load_study rebuilds a study's sampler from what describe() recorded."""
        from dialed.samplers import make_sampler as by_name

        described = json.loads(json.dumps(make_sampler(3).describe()))
        extra = set(described) - {"name", "seed", "options"}
        assert not extra, f"settings outside 'options' are lost on reload: {sorted(extra)}"
        rebuilt = by_name(described["name"], seed=described["seed"],
                          **described.get("options", {}))
        assert json.loads(json.dumps(rebuilt.describe())) == described


def _check_plain(name: str, dist: Distribution, value: Any) -> None:
    """Values are plain Python types of their distribution's kind (the storage writes JSON)."""
    if isinstance(dist, IntDistribution):
        assert isinstance(value, int) and not isinstance(value, bool), (
            f"{name}: {value!r} ({type(value).__name__}) is not a Python int"
        )
    elif isinstance(dist, FloatDistribution):
        assert isinstance(value, float), (
            f"{name}: {value!r} ({type(value).__name__}) is not a Python float"
        )
