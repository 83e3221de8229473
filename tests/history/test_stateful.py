"""A stateful property test of the history: random interleavings of enqueue, ask, tell
(complete, fail, prune) and optimize (one job or two) over two Study handles on one storage;
after every step each handle's history holds exactly the storage's finished trials (numbers,
states, parameters, values) and its running ones, in order of number."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import dialed
from dialed import TrialState
from dialed.storage import MemoryStorage, Storage

SPACE = {"x": {"type": "float", "low": 0.0, "high": 1.0},
         "k": {"type": "int", "low": 0, "high": 3}}


def objective(trial: dialed.Trial) -> float:
    x = trial.suggest_float("x", 0.0, 1.0)
    k = trial.suggest_int("k", 0, 3)
    if k == 3:
        raise ValueError("k = 3 fails")  # caught: the trial is failed
    if x < 0.15:
        trial.report(x, 1)
        raise dialed.Pruned()
    return (x - 0.3) ** 2 + k


def _state(trials: Any) -> list[tuple[int, str, dict[str, Any], dict[str, float]]]:
    return [(t.number, t.state.value, dict(t.params), dict(t.metrics)) for t in trials]


class TwoHandles(RuleBasedStateMachine):
    """Two handles (``a`` and ``b``) on one study; subclasses choose the storage."""

    def make_storage(self) -> str | Storage:
        raise NotImplementedError

    def __init__(self) -> None:
        super().__init__()
        self.storage = self.make_storage()
        self.handles = [
            dialed.create_study("s", storage=self.storage, metrics={"y": "minimize"},
                                sampler="tpe", seed=0, space=SPACE),
        ]
        self.handles.append(dialed.load_study("s", storage=self.storage))
        self.asked: list[dialed.Trial] = []

    @rule(h=st.integers(0, 1), x=st.floats(0.0, 1.0), k=st.integers(0, 3))
    def enqueue(self, h: int, x: float, k: int) -> None:
        self.handles[h].enqueue({"x": x, "k": k})

    @rule(h=st.integers(0, 1), fixed=st.booleans(), x=st.floats(0.0, 1.0))
    def ask(self, h: int, fixed: bool, x: float) -> None:
        trial = self.handles[h].ask({"x": x, "k": 1} if fixed else None)
        trial.suggest_float("x", 0.0, 1.0)
        trial.suggest_int("k", 0, 3)
        self.asked.append(trial)

    @precondition(lambda self: bool(self.asked))
    @rule(h=st.integers(0, 1), i=st.integers(0, 50),
          outcome=st.sampled_from(["complete", "failed", "pruned"]))
    def tell(self, h: int, i: int, outcome: str) -> None:
        trial = self.asked.pop(i % len(self.asked))
        if outcome == "complete":
            self.handles[h].tell(trial, (trial.params["x"] - 0.3) ** 2)
        else:
            self.handles[h].tell(trial, state=outcome)

    @rule(h=st.integers(0, 1), n=st.integers(1, 4), jobs=st.sampled_from([1, 2]))
    def optimize(self, h: int, n: int, jobs: int) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # memory storage: threads, with a warning
            self.handles[h].optimize(objective, n_trials=n, n_jobs=jobs, catch=(ValueError,))

    @invariant()
    def each_history_holds_the_finished_and_running_trials(self) -> None:
        for handle in self.handles:
            history = handle.history()
            stored = handle.storage.get_trials(handle.study_id)
            want = [t for t in stored if t.state != TrialState.WAITING]
            assert _state(history.trials) == _state(want)
            assert [t.number for t in history.complete] == \
                [t.number for t in want if t.state == TrialState.COMPLETE]
            assert [t.number for t in history.running] == \
                [t.number for t in want if t.state == TrialState.RUNNING]
            for t in want:
                assert history.seen(t.params)


class OnMemory(TwoHandles):
    def make_storage(self) -> str | Storage:
        return MemoryStorage()


class OnSQLite(TwoHandles):
    def make_storage(self) -> str | Storage:
        folder = Path(tempfile.mkdtemp(prefix="dialed-stateful-"))
        return f"sqlite:///{folder / 'study.db'}"


_SETTINGS = settings(max_examples=25, stateful_step_count=12, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])
TestOnMemory = OnMemory.TestCase
TestOnMemory.settings = _SETTINGS
TestOnSQLite = OnSQLite.TestCase
TestOnSQLite.settings = _SETTINGS
