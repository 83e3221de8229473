"""The conformance suite every pruner passes.

A test module subclasses :class:`PrunerSuite` and provides a ``make_pruner`` fixture, a
callable from nothing to a fresh, unbound pruner::

    import pytest
    from dialed.pruners import MedianPruner
    from dialed.testing.pruners import PrunerSuite

    class TestMedianPruner(PrunerSuite):
        @pytest.fixture
        def make_pruner(self):
            return lambda: MedianPruner(n_startup_trials=2)

The suite binds the pruner as a study would (a declared resource, one objective) and asks
what the engine asks: :meth:`Pruner.on_trial_start`, :meth:`Pruner.sampler_history` and
:meth:`Pruner.should_prune` after each report. It checks that no history crashes a pruner
(empty; failed, pruned, running and waiting peers; a lone trial; maximising), that decisions
are deterministic (two fresh pruners, and one pruner asked twice, agree), that a decision is
``None`` or a non-empty reason, that the pruner survives ``describe`` / ``make_pruner`` and
pickling (worker processes), and that a study with several objectives either works or is
refused with a ConfigError naming the pruner.
"""

from __future__ import annotations

import json
import math
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from dialed.errors import ConfigError
from dialed.history import History
from dialed.metrics import MetricSet
from dialed.pruners import PAUSED, Pruner, Resource, make_pruner
from dialed.space import Space
from dialed.trial import TrialRecord, TrialState

__all__ = [
    "RESOURCE",
    "MakePruner",
    "PrunerSuite",
    "curve_history",
    "decisions",
    "learning_curve",
    "make_pruner_from",
]

#: A callable returning a fresh, unbound pruner: what a suite subclass's ``make_pruner`` returns.
MakePruner = Callable[[], Pruner]

#: The resource the suite declares (rungs at 1, 3, 9; full budget 27).
RESOURCE = Resource("epochs", min=1, max=27, reduction_factor=3)

_SPACE = Space({
    "lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
    "width": {"type": "int", "low": 8, "high": 256, "log": True},
})


def learning_curve(quality: float, steps: int, *, maximize: bool = False) -> dict[int, float]:
    """A loss curve ``quality + 1 / step`` at steps ``1..steps`` (accuracy-like if maximize)."""
    curve = {s: quality + 1.0 / s for s in range(1, steps + 1)}
    return {s: 1.0 - v for s, v in curve.items()} if maximize else curve


def curve_history(
    n: int = 24, *, seed: int = 0, maximize: bool = False, messy: bool = True,
    metrics: MetricSet | None = None,
) -> History:
    """``n`` peers with learning curves to 27 epochs: complete ones, pruned ones cut short, and
    (``messy``) failed, running and waiting ones, some without any curve."""
    metrics = metrics or MetricSet("maximize" if maximize else "minimize")
    rng = np.random.default_rng(seed)
    trials: list[TrialRecord] = []
    for i in range(n):
        quality = float(rng.random())
        params = _SPACE.decode(rng.random(len(_SPACE)))
        kind = i % 6 if messy else i % 2
        common: dict[str, Any] = {"trial_id": i + 1, "study_id": 1, "number": i, "seed": i,
                                  "params": params}
        full = learning_curve(quality, 27, maximize=maximize)
        if kind == 0:
            final = full[27]
            trials.append(TrialRecord(state=TrialState.COMPLETE, intermediate=full,
                                      metrics={metrics.primary.name: final}, **common))
        elif kind == 1:
            cut = int(rng.integers(1, 10))
            trials.append(TrialRecord(
                state=TrialState.PRUNED,
                intermediate={s: v for s, v in full.items() if s <= cut}, **common,
            ))
        elif kind == 2:
            trials.append(TrialRecord(state=TrialState.FAILED, error="RuntimeError: boom",
                                      intermediate={1: full[1]} if i % 4 else {}, **common))
        elif kind == 3:
            cut = int(rng.integers(0, 12))
            trials.append(TrialRecord(
                state=TrialState.RUNNING,
                intermediate={s: v for s, v in full.items() if s <= cut}, **common,
            ))
        elif kind == 4:
            trials.append(TrialRecord(state=TrialState.WAITING, **common))
        else:  # complete with no curve at all
            trials.append(TrialRecord(state=TrialState.COMPLETE,
                                      metrics={metrics.primary.name: full[27]}, **common))
    return History(_SPACE, metrics, tuple(trials))


def decisions(
    pruner: Pruner, history: History, curve: dict[int, float], *, number: int | None = None
) -> list[str | None]:
    """Ask ``pruner`` after each report of ``curve``, as the engine does; stops at a prune."""
    number = len(history.trials) if number is None else number
    attrs = pruner.on_trial_start(number, history)
    out: list[str | None] = []
    seen: dict[int, float] = {}
    for step in sorted(curve):
        seen[step] = curve[step]
        record = TrialRecord(
            trial_id=10_000 + number, study_id=1, number=number, state=TrialState.RUNNING,
            seed=0, params={}, intermediate=dict(seen), system_attrs=dict(attrs),
        )
        verdict = pruner.should_prune(history, record)
        out.append(verdict)
        if verdict is not None:
            break
    return out


class PrunerSuite:
    """Checks every pruner passes; subclass it and provide a ``make_pruner`` fixture."""

    @pytest.fixture
    def make_pruner(self) -> MakePruner:
        raise NotImplementedError(
            f"{type(self).__name__} must define a `make_pruner` fixture returning a callable "
            "that builds a fresh pruner"
        )

    def _bound(self, make: MakePruner, metrics: MetricSet | None = None) -> Pruner:
        pruner = make()
        pruner.bind(RESOURCE, metrics or MetricSet("minimize"))
        return pruner

    @staticmethod
    def _check(verdicts: list[str | None], pruner: Pruner) -> None:
        for v in verdicts:
            assert v is None or (isinstance(v, str) and v.strip()), (
                f"{pruner.name}: should_prune must return None or a non-empty reason, got {v!r}"
            )

    # -- robustness ------------------------------------------------------------------------
    def test_empty_history(self, make_pruner: MakePruner) -> None:
        pruner = self._bound(make_pruner)
        history = History(_SPACE, MetricSet("minimize"))
        record = TrialRecord(trial_id=1, study_id=1, number=0, state=TrialState.RUNNING, seed=0)
        assert pruner.should_prune(history, record) is None, "no report, nothing to judge"
        self._check(decisions(pruner, history, learning_curve(0.5, 27), number=0), pruner)

    def test_a_lone_trial_runs_to_the_end(self, make_pruner: MakePruner) -> None:
        pruner = self._bound(make_pruner)
        history = History(_SPACE, MetricSet("minimize"))
        got = decisions(pruner, history, learning_curve(0.1, 27), number=0)
        self._check(got, pruner)
        # a pause is no stop: the trial goes on in a new one (ASHA's promotions, PBT's rounds)
        got = [None if v is not None and v.startswith(PAUSED) else v for v in got]
        assert all(v is None for v in got), (
            f"{pruner.name} stopped a lone improving trial with no peers: {got}"
        )

    def test_failed_pruned_running_and_waiting_peers(self, make_pruner: MakePruner) -> None:
        pruner = self._bound(make_pruner)
        history = curve_history(30)
        for quality in (0.0, 0.5, 2.0):
            self._check(decisions(pruner, history, learning_curve(quality, 27)), pruner)

    def test_only_failed_and_pruned_peers(self, make_pruner: MakePruner) -> None:
        pruner = self._bound(make_pruner)
        full = curve_history(30)
        history = History(full.space, full.metrics, tuple(
            t for t in full.trials if t.state in (TrialState.FAILED, TrialState.PRUNED)
        ))
        self._check(decisions(pruner, history, learning_curve(0.7, 27)), pruner)

    def test_maximize(self, make_pruner: MakePruner) -> None:
        pruner = self._bound(make_pruner, MetricSet("maximize"))
        history = curve_history(30, maximize=True)
        self._check(decisions(pruner, history, learning_curve(0.2, 27, maximize=True)), pruner)

    def test_sparse_and_zero_based_steps(self, make_pruner: MakePruner) -> None:
        pruner = self._bound(make_pruner)
        history = curve_history(30)
        curve = {s: 0.4 + 1.0 / (s + 1) for s in range(0, 27, 4)}
        self._check(decisions(pruner, history, curve), pruner)

    # -- determinism -----------------------------------------------------------------------
    def test_decisions_are_deterministic(self, make_pruner: MakePruner) -> None:
        history = curve_history(36, seed=3)
        for quality in (0.05, 0.5, 1.5):
            curve = learning_curve(quality, 27)
            a = decisions(self._bound(make_pruner), history, curve)
            b = decisions(self._bound(make_pruner), history, curve)
            assert a == b, f"two fresh {make_pruner().name} pruners disagree: {a} != {b}"
            pruner = self._bound(make_pruner)
            first = decisions(pruner, history, curve)
            again = decisions(pruner, history, curve)
            assert first == again, f"{pruner.name}: asking twice gave another answer"

    def test_hooks(self, make_pruner: MakePruner) -> None:
        pruner = self._bound(make_pruner)
        history = curve_history(30)
        for number in range(40):
            attrs = pruner.on_trial_start(number, history)
            assert isinstance(attrs, dict)
            json.dumps(attrs)  # recorded in the storage
            assert attrs == self._bound(make_pruner).on_trial_start(number, history)
            view = pruner.sampler_history(history, attrs)
            assert isinstance(view, History)
            assert view.space == history.space and view.metrics == history.metrics
            ids = {t.trial_id for t in history.trials}
            assert {t.trial_id for t in view.trials} <= ids
            for t in view.complete:
                value = t.metrics[history.metrics.primary.name]
                assert isinstance(value, float) and math.isfinite(value)

    # -- recording -------------------------------------------------------------------------
    def test_describe_rebuilds(self, make_pruner: MakePruner) -> None:
        pruner = make_pruner()
        desc = pruner.describe()
        assert desc["name"] == pruner.name
        json.dumps(desc)
        again = make_pruner_from(desc)
        assert again.describe() == desc
        assert type(again) is type(pruner)

    def test_pickles(self, make_pruner: MakePruner) -> None:
        pruner = self._bound(make_pruner)
        history = curve_history(30)
        decisions(pruner, history, learning_curve(0.3, 27))
        copy = pickle.loads(pickle.dumps(pruner))
        curve = learning_curve(0.9, 27)
        assert decisions(copy, history, curve) == decisions(pruner, history, curve)

    def test_several_objectives_work_or_are_refused(self, make_pruner: MakePruner) -> None:
        metrics = MetricSet({"loss": "minimize", "latency": "minimize"})
        pruner = make_pruner()
        try:
            pruner.bind(RESOURCE, metrics)
        except ConfigError as exc:  # refused: the message names the pruner and says why
            assert pruner.name in str(exc) and "objectives" in str(exc), str(exc)
            return
        assert pruner.multi_objective, f"{pruner.name} accepted several objectives unannounced"
        history = curve_history(30, metrics=metrics)
        self._check(decisions(pruner, history, learning_curve(0.5, 27)), pruner)


def make_pruner_from(desc: dict[str, Any]) -> Pruner:
    """``make_pruner`` on a description (a JSON round trip first, as the storage does)."""
    return make_pruner(json.loads(json.dumps(desc)))
