"""The history cache: incremental reads give exactly what a full read gives."""

from __future__ import annotations

import dialed
from dialed import TrialState
from dialed.execution import HistoryCache


def test_incremental_history_matches_a_full_read_with_out_of_order_finishes() -> None:
    study = dialed.create_study("h", seed=0)
    storage, sid = study.storage, study.study_id
    cache = HistoryCache(storage, sid, study.metrics)
    running = [storage.create_trial(sid, worker="w", params={"x": i}) for i in range(6)]
    # finish them out of order, reading the history between finishes
    for k, i in enumerate([3, 0, 5, 1, 4, 2]):
        storage.finish_trial(running[i].trial_id, TrialState.COMPLETE, metrics={"value": 1.0 * i})
        storage.enqueue_trials(sid, [{"x": 100 + k}])  # waiting trials never show up
        hist = cache.refresh()
        full = [t for t in storage.get_trials(sid) if t.state != TrialState.WAITING]
        assert [t.number for t in hist.trials] == [t.number for t in full]
        assert [t.state for t in hist.trials] == [t.state for t in full]
    excluded = cache.refresh(exclude_trial_id=running[2].trial_id)
    assert running[2].number not in [t.number for t in excluded.trials]
    assert len(excluded.trials) == 5
