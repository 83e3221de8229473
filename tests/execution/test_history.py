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


def test_kept_subsets_match_what_the_history_computes() -> None:
    study = dialed.create_study("subsets", metrics={"loss": "minimize", "acc": "maximize"})
    storage, sid = study.storage, study.study_id
    cache = HistoryCache(storage, sid, study.metrics)
    trials = [storage.create_trial(sid, worker="w", params={"x": i}) for i in range(8)]
    endings = [  # finished out of order: complete, pruned, failed, one objective missing
        (4, TrialState.COMPLETE, {"loss": 1.0, "acc": 0.5}),
        (1, TrialState.PRUNED, {}),
        (6, TrialState.COMPLETE, {"loss": 0.5}),
        (0, TrialState.FAILED, {}),
        (2, TrialState.COMPLETE, {"loss": 2.0, "acc": 0.1}),
        (7, TrialState.PRUNED, {}),
    ]
    for i, state, metrics in endings:
        storage.finish_trial(trials[i].trial_id, state, metrics=metrics)
        kept = cache.refresh()
        plain = dialed.samplers.History(space=kept.space, metrics=kept.metrics,
                                        trials=kept.trials)
        for part in ("complete", "pruned", "running"):
            assert [t.number for t in getattr(kept, part)] == \
                [t.number for t in getattr(plain, part)], part
    final = cache.refresh()
    assert [t.number for t in final.complete] == [2, 4]
    assert [t.number for t in final.pruned] == [1, 7]
    assert [t.number for t in final.running] == [3, 5]


def test_seen_from_the_kept_keys_matches_a_scan_of_the_trials() -> None:
    """The engine keeps the finished trials' configurations, so History.seen is a lookup; its
    answers are those of a history that scans every trial, running ones included."""
    study = dialed.create_study("seen", seed=0)
    storage, sid = study.storage, study.study_id
    cache = HistoryCache(storage, sid, study.metrics)
    trials = [storage.create_trial(sid, worker="w", params={"x": i, "c": "a"}) for i in range(5)]
    for i in (3, 0, 4):  # out of order; 1 and 2 stay running
        storage.finish_trial(trials[i].trial_id, TrialState.COMPLETE, metrics={"value": 1.0})
        cache.refresh()
    asking = storage.create_trial(sid, worker="w", params={"x": 9, "c": "a"})
    kept = cache.refresh(exclude_trial_id=asking.trial_id)
    plain = dialed.samplers.History(space=kept.space, metrics=kept.metrics, trials=kept.trials)
    for x in range(10):
        for c in ("a", "b"):
            assert kept.seen({"x": x, "c": c}) == plain.seen({"x": x, "c": c}), (x, c)
    assert kept.seen({"x": 3, "c": "a"}) and kept.seen({"x": 1, "c": "a"})  # finished, running
    assert not kept.seen({"x": 9, "c": "a"})  # the trial being suggested for is left out
    assert not kept.seen({"x": 3, "c": "b"}) and not kept.seen({"x": 3})
