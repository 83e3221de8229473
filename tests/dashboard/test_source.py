"""LiveTrials: a study's trials kept current with small incremental reads."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dialed.dashboard import LiveTrials, ReadOnlyStorage
from dialed.storage import MemoryStorage
from dialed.trial import TrialRecord, TrialState


class CountingStorage(MemoryStorage):
    """A memory storage that records every get_trials / get_trial call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, Any]] = []

    def get_trials(self, study_id: int, *, states: Iterable[TrialState] | None = None,
                   min_trial_id: int | None = None) -> list[TrialRecord]:
        out = super().get_trials(study_id, states=states, min_trial_id=min_trial_id)
        self.calls.append(("get_trials", (None if states is None else sorted(s.value for s in
                                          states), min_trial_id, len(out))))
        return out

    def get_trial(self, trial_id: int) -> TrialRecord:
        self.calls.append(("get_trial", trial_id))
        return super().get_trial(trial_id)


def _setup() -> tuple[CountingStorage, int, LiveTrials]:
    store = CountingStorage()
    sid = store.create_study("s", metrics={"loss": "minimize"}, seed=0).study_id
    return store, sid, LiveTrials(ReadOnlyStorage(store), sid, min_interval=0.0)


def _finish(store: MemoryStorage, trial: TrialRecord, value: float) -> None:
    store.finish_trial(trial.trial_id, TrialState.COMPLETE, metrics={"loss": value})


def test_first_refresh_reads_everything_then_only_what_is_new() -> None:
    store, sid, live = _setup()
    for i in range(5):
        _finish(store, store.create_trial(sid, worker="w"), float(i))
    v1 = live.refresh()
    assert [t.number for t in live.records] == [0, 1, 2, 3, 4]
    store.calls.clear()
    assert live.refresh() == v1  # nothing changed: same version
    assert store.calls == [("get_trials", (None, 6, 0))]  # one empty range read
    _finish(store, store.create_trial(sid, worker="w"), 9.0)
    store.calls.clear()
    v2 = live.refresh()
    assert v2 == v1 + 1 and live.records[-1].metrics == {"loss": 9.0}
    assert store.calls == [("get_trials", (None, 6, 1))]
    assert [t.number for t in live.changes_since(v1) or []] == [5]


def test_running_trials_are_followed_until_they_finish() -> None:
    store, sid, live = _setup()
    done = store.create_trial(sid, worker="w")
    _finish(store, done, 1.0)
    running = store.create_trial(sid, worker="w")
    waiting_count = store.enqueue_trials(sid, [{"x": 1}, {"x": 2}])
    assert waiting_count == 2
    v1 = live.refresh()
    assert [t.state for t in live.records] == [TrialState.COMPLETE, TrialState.RUNNING,
                                               TrialState.WAITING, TrialState.WAITING]
    store.report(running.trial_id, 0, 0.5)  # a running trial's curve grows
    v2 = live.refresh()
    assert v2 > v1 and live.get(1) is not None and dict(live.get(1).intermediate) == {0: 0.5}
    store.calls.clear()
    _finish(store, running, 0.25)
    v3 = live.refresh()
    assert v3 > v2
    rec = live.get(1)
    assert rec is not None and rec.state is TrialState.COMPLETE
    # the range of new trials, the unfinished ones by state, and the one that finished
    assert store.calls == [
        ("get_trials", (None, 5, 0)),
        ("get_trials", (["running", "waiting"], None, 2)),
        ("get_trial", running.trial_id),
    ]
    assert [t.number for t in live.changes_since(v2) or []] == [1]
    claimed = store.claim_trial(sid, worker="w2")
    assert claimed is not None
    live.refresh()
    rec2 = live.get(2)
    assert rec2 is not None and rec2.state is TrialState.RUNNING and rec2.worker == "w2"


def test_many_finished_at_once_are_read_as_a_range() -> None:
    store, sid, live = _setup()
    trials = [store.create_trial(sid, worker="w") for _ in range(100)]
    live.refresh()
    for t in trials:
        _finish(store, t, 1.0)
    store.calls.clear()
    live.refresh()
    assert all(t.state is TrialState.COMPLETE for t in live.records)
    assert not any(name == "get_trial" for name, _ in store.calls)


def test_changes_since_an_old_version_asks_for_a_reload() -> None:
    _, _, live = _setup()
    assert live.changes_since(0) == []  # version 0: nothing read yet, nothing changed
    live.refresh()
    assert live.changes_since(-1) is None  # before the first read: reload everything
    assert live.changes_since(live.version) == []


def test_refreshes_are_throttled() -> None:
    store = CountingStorage()
    sid = store.create_study("s", metrics={"loss": "minimize"}, seed=0).study_id
    live = LiveTrials(ReadOnlyStorage(store), sid, min_interval=60.0)
    live.refresh()
    store.create_trial(sid, worker="w")
    store.calls.clear()
    live.refresh()
    assert store.calls == []  # within the interval: no read
    live.refresh(force=True)
    assert len(live.records) == 1
