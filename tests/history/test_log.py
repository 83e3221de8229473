"""The engine's log: incremental reads give exactly what a full read gives, enqueued trials
included, and each snapshot stays as it was while the log grows."""

from __future__ import annotations

import numpy as np

import dialed
from dialed import TrialState
from dialed.history import History, HistoryLog


def _full(study: dialed.Study) -> list[tuple[int, str, dict[str, object], dict[str, float]]]:
    """The storage's finished and running trials, read whole."""
    return [(t.number, t.state.value, dict(t.params), dict(t.metrics))
            for t in study.storage.get_trials(study.study_id)
            if t.state != TrialState.WAITING]


def _held(history: History) -> list[tuple[int, str, dict[str, object], dict[str, float]]]:
    return [(t.number, t.state.value, dict(t.params), dict(t.metrics)) for t in history.trials]


def test_an_enqueued_trial_reaches_the_sampler_once_it_finishes() -> None:
    """The reproduction of the issue: a trial enqueued before another ran is claimed and told
    later; the handle's history holds it (it used to hold trial 1 only)."""
    s = dialed.create_study("e", metrics={"y": "minimize"}, seed=0, sampler="tpe")
    s.enqueue({"x": 0.5})
    t = s.ask({"x": 0.9})
    s.tell(t, 0.16)  # trial 1
    t2 = s.ask()
    x = t2.suggest_float("x", 0, 1)  # claims the enqueued trial 0
    assert t2.number == 0 and x == 0.5
    s.tell(t2, (x - 0.5) ** 2)  # the best trial so far
    history = s.history()
    assert [t.number for t in history.trials] == [0, 1]
    assert [t.number for t in history.complete] == [0, 1]
    assert history.losses()[:, 0].tolist() == [0.0, 0.16]
    assert history.seen({"x": 0.5}) and history.seen({"x": 0.9})
    assert s.best_trial.number == 0


def test_a_trial_enqueued_long_ago_is_read_once_it_runs() -> None:
    study = dialed.create_study("late", seed=0)
    storage, sid = study.storage, study.study_id
    log = HistoryLog(storage, sid, study.metrics)
    storage.enqueue_trials(sid, [{"x": 100}])  # trial 0 waits while others run and finish
    for i in range(1, 30):
        rec = storage.create_trial(sid, worker="w", params={"x": i})
        storage.finish_trial(rec.trial_id, TrialState.COMPLETE, metrics={"value": float(i)})
        log.refresh()
    claimed = storage.claim_trial(sid, worker="w")
    assert claimed is not None and claimed.number == 0
    assert [t.number for t in log.refresh().running] == [0]
    storage.finish_trial(claimed.trial_id, TrialState.COMPLETE, metrics={"value": -1.0})
    history = log.refresh()
    assert _held(history) == _full(study)
    assert history.complete[0].number == 0 and history.losses()[0, 0] == -1.0


def test_incremental_history_matches_a_full_read_with_out_of_order_finishes() -> None:
    study = dialed.create_study("h", seed=0)
    storage, sid = study.storage, study.study_id
    log = HistoryLog(storage, sid, study.metrics)
    running = [storage.create_trial(sid, worker="w", params={"x": i}) for i in range(6)]
    for k, i in enumerate([3, 0, 5, 1, 4, 2]):  # finished out of order, read in between
        storage.finish_trial(running[i].trial_id, TrialState.COMPLETE, metrics={"value": 1.0 * i})
        storage.enqueue_trials(sid, [{"x": 100 + k}])  # waiting trials never show up
        history = log.refresh()
        assert _held(history) == _full(study)
        np.testing.assert_array_equal(history.rows.number, [t.number for t in history.trials])
    excluded = log.refresh(exclude_trial_id=running[2].trial_id)
    assert running[2].number not in [t.number for t in excluded.trials]
    assert len(excluded.trials) == 5 and not excluded.seen({"x": 2})


def test_subsets_and_rows_match_a_history_built_from_the_records() -> None:
    study = dialed.create_study("subsets", metrics={"loss": "minimize", "acc": "maximize",
                                                   "mem": "<= 10"})
    storage, sid = study.storage, study.study_id
    storage.register_params(sid, {"x": {"type": "int", "low": 0, "high": 9}})
    log = HistoryLog(storage, sid, study.metrics)
    trials = [storage.create_trial(sid, worker="w", params={"x": i}) for i in range(8)]
    endings = [  # finished out of order: complete, pruned, failed, one objective missing
        (4, TrialState.COMPLETE, {"loss": 1.0, "acc": 0.5, "mem": 3.0}),
        (1, TrialState.PRUNED, {}),
        (6, TrialState.COMPLETE, {"loss": 0.5}),
        (0, TrialState.FAILED, {}),
        (2, TrialState.COMPLETE, {"loss": 2.0, "acc": 0.1, "mem": 12.0}),
        (7, TrialState.PRUNED, {}),
    ]
    for i, state, metrics in endings:
        if state == TrialState.PRUNED:
            storage.report(trials[i].trial_id, 3, 0.25 * i)
        storage.finish_trial(trials[i].trial_id, state, metrics=metrics)
        kept = log.refresh()
        plain = History(kept.space, kept.metrics, kept.trials)
        for part in ("complete", "pruned", "running"):
            assert [t.number for t in getattr(kept, part)] == \
                [t.number for t in getattr(plain, part)], part
        for field in ("number", "state", "scored", "losses", "violation", "last_step",
                      "last_loss", "points"):
            np.testing.assert_array_equal(getattr(kept.rows, field), getattr(plain.rows, field))
    final = log.refresh()
    assert [t.number for t in final.complete] == [2, 4]
    assert [t.number for t in final.pruned] == [1, 7]
    assert [t.number for t in final.running] == [3, 5]
    assert final.losses().tolist() == [[2.0, -0.1], [1.0, -0.5]]
    assert final.violations().tolist() == [2.0, 0.0]
    assert final.feasible.tolist() == [False, True]
    assert [t.number for t in final.front] == [4]
    assert final.rows.last_step[final.pruned_rows].tolist() == [3.0, 3.0]


def test_a_snapshot_does_not_change_when_the_log_grows() -> None:
    study = dialed.create_study("frozen", seed=0)
    storage, sid = study.storage, study.study_id
    log = HistoryLog(storage, sid, study.metrics)
    first = storage.create_trial(sid, worker="w", params={"x": 1})
    storage.finish_trial(first.trial_id, TrialState.COMPLETE, metrics={"value": 1.0})
    before = log.refresh()
    rows = before.rows.losses.copy()
    for i in range(2, 200):  # appends past the snapshot, then a rebuild of the columns
        rec = storage.create_trial(sid, worker="w", params={"x": i})
        storage.finish_trial(rec.trial_id, TrialState.COMPLETE, metrics={"value": float(i)})
        log.refresh()
    assert len(before.trials) == 1 and np.array_equal(before.rows.losses, rows)
    assert not before.seen({"x": 5}) and log.refresh().seen({"x": 5})
    assert not before.rows.losses.flags.writeable


def test_seen_matches_a_scan_of_the_trials() -> None:
    study = dialed.create_study("seen", seed=0)
    storage, sid = study.storage, study.study_id
    log = HistoryLog(storage, sid, study.metrics)
    trials = [storage.create_trial(sid, worker="w", params={"x": i, "c": "a"}) for i in range(5)]
    for i in (3, 0, 4):  # out of order; 1 and 2 stay running
        storage.finish_trial(trials[i].trial_id, TrialState.COMPLETE, metrics={"value": 1.0})
        log.refresh()
    asking = storage.create_trial(sid, worker="w", params={"x": 9, "c": "a"})
    kept = log.refresh(exclude_trial_id=asking.trial_id)
    plain = History(kept.space, kept.metrics, kept.trials)
    for x in range(10):
        for c in ("a", "b"):
            assert kept.seen({"x": x, "c": c}) == plain.seen({"x": x, "c": c}), (x, c)
    assert kept.seen({"x": 3, "c": "a"}) and kept.seen({"x": 1, "c": "a"})  # finished, running
    assert kept.seen({"x": 3.0, "c": "a"})  # an int and its float are one configuration
    assert not kept.seen({"x": 9, "c": "a"})  # the trial being suggested for is left out
    assert not kept.seen({"x": 3, "c": "b"}) and not kept.seen({"x": 3})


def test_the_space_growing_adds_coordinates_to_held_trials() -> None:
    study = dialed.create_study("grow", seed=0)
    storage, sid = study.storage, study.study_id
    log = HistoryLog(storage, sid, study.metrics)
    storage.register_params(sid, {"x": {"type": "float", "low": 0, "high": 1}})
    a = storage.create_trial(sid, worker="w", params={"x": 0.5, "y": 3})  # y not yet declared
    storage.finish_trial(a.trial_id, TrialState.COMPLETE, metrics={"value": 1.0})
    assert log.refresh().points().tolist() == [[0.5]]
    storage.register_params(sid, {"y": {"type": "int", "low": 0, "high": 4}})
    b = storage.create_trial(sid, worker="w", params={"x": 0.25, "y": 1})
    storage.finish_trial(b.trial_id, TrialState.COMPLETE, metrics={"value": 2.0})
    history = log.refresh()
    assert list(history.space) == ["x", "y"]
    np.testing.assert_allclose(history.points(), [[0.5, 0.7], [0.25, 0.3]])


def test_a_view_of_records_an_empty_history_never_held_is_derived_from_them() -> None:
    """A running trial added to the history of the first trial (no finished ones): the view
    holds its rows as a history made of it directly does (it raised IndexError)."""
    study = dialed.create_study("first", seed=0, space={"x": {"type": "float", "low": 0,
                                                              "high": 2}})
    empty = study.history()
    assert empty.trials == () and empty.space == study.space  # the declared space, at once
    record = study.storage.create_trial(study.study_id, worker="w", params={"x": 0.5})
    view = empty.view([record])
    direct = History(empty.space, study.metrics, [record])
    assert [t.number for t in view.running] == [0]
    assert view.points().tolist() == direct.points().tolist() == [[0.25]]
    assert view.seen({"x": 0.5}) and not view.seen({"x": 1.0})
