"""The study API on the memory storage: optimize, ask/tell, enqueue, best, export, failures."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest

import dialed
from dialed import TrialState


def quadratic(trial: dialed.Trial) -> float:
    x = trial.suggest_float("x", -3.0, 3.0, family="optimizer")
    y = trial.suggest_int("y", 0, 4, family="architecture")
    return (x - 1.0) ** 2 + y


def test_optimize_runs_and_records_everything() -> None:
    study = dialed.create_study("q", seed=3)
    study.optimize(quadratic, n_trials=25)
    trials = study.trials
    assert [t.number for t in trials] == list(range(25))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    best = min(trials, key=lambda t: t.metrics["value"])
    assert study.best_trial.number == best.number
    assert study.best_value == best.metrics["value"]
    assert study.best_params == dict(best.params)
    t0 = trials[0]
    assert t0.wall_seconds is not None and t0.wall_seconds >= 0
    assert t0.cpu_seconds is not None and t0.peak_memory_mb and t0.peak_memory_mb > 0
    assert t0.environment["python"] and t0.environment["numpy"] and t0.environment["dialed"]
    assert t0.worker and ":" in t0.worker
    assert study.space["x"].family == "optimizer"
    assert study.space.families() == {"optimizer": ["x"], "architecture": ["y"]}


def test_same_seed_same_study_different_seed_different() -> None:
    def values(seed: int) -> list[dict[str, object]]:
        s = dialed.create_study(f"s{seed}", seed=seed)
        s.optimize(quadratic, n_trials=8)
        return [dict(t.params) for t in s.trials]

    assert values(11) == values(11)
    assert values(11) != values(12)


def test_trial_seed_is_recorded_and_derived() -> None:
    a = dialed.create_study("a", seed=5)
    seen: list[int] = []
    a.optimize(lambda t: seen.append(t.seed) or 0.0, n_trials=3)
    assert [t.seed for t in a.trials] == seen
    assert len(set(seen)) == 3
    b = dialed.create_study("b", seed=5)
    b.optimize(lambda t: 0.0, n_trials=3)
    assert [t.seed for t in b.trials] == seen


def test_study_without_seed_records_one() -> None:
    s = dialed.create_study("noseed")
    assert isinstance(s.seed, int)


def test_objective_that_raises_is_failed_and_propagates() -> None:
    study = dialed.create_study("boom")

    def bad(trial: dialed.Trial) -> float:
        trial.suggest_float("x", 0, 1)
        raise RuntimeError("diverged at step 3")

    with pytest.raises(RuntimeError, match="diverged"):
        study.optimize(bad, n_trials=5)
    (t,) = study.trials
    assert t.state == TrialState.FAILED
    assert t.error is not None and "RuntimeError: diverged at step 3" in t.error
    assert "x" in t.params  # what was suggested before the failure is kept


def test_catch_keeps_going() -> None:
    study = dialed.create_study("catch")

    def flaky(trial: dialed.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        if trial.number % 2:
            raise ValueError("odd trial")
        return x

    study.optimize(flaky, n_trials=6, catch=(ValueError,))
    states = [t.state for t in study.trials]
    assert states.count(TrialState.FAILED) == 3 and states.count(TrialState.COMPLETE) == 3


@pytest.mark.parametrize("bad", [math.nan, math.inf, "0.5", None, {"other": 1.0}])
def test_bad_metric_fails_the_trial_with_reason(bad: object) -> None:
    study = dialed.create_study("nan")
    study.optimize(lambda t: bad, n_trials=2)
    for t in study.trials:
        assert t.state == TrialState.FAILED
        assert t.error is not None and t.error.startswith("invalid result")
    with pytest.raises(dialed.NoTrialsError):
        _ = study.best_value


def test_several_metrics_and_tracked() -> None:
    study = dialed.create_study("m", metrics={"val_loss": "minimize", "val_acc": "track"})
    study.optimize(lambda t: {"val_loss": t.suggest_float("x", 0, 1), "val_acc": 0.5},
                   n_trials=5)
    assert study.best_trial.metrics["val_acc"] == 0.5
    assert study.best_value == min(t.metrics["val_loss"] for t in study.trials)


def test_maximize_and_constraints() -> None:
    study = dialed.create_study("c", metrics={"acc": "maximize", "mem": "<= 10"})

    def obj(trial: dialed.Trial) -> dict[str, float]:
        x = trial.suggest_float("x", 0, 1)
        return {"acc": x, "mem": 20.0 if x > 0.5 else 1.0}

    study.optimize(obj, n_trials=40)
    best = study.best_trial
    assert best.metrics["mem"] <= 10
    feasible = [t.metrics["acc"] for t in study.trials if t.metrics["mem"] <= 10]
    assert best.metrics["acc"] == max(feasible)


def test_multi_objective_best_trials_is_pareto_front() -> None:
    study = dialed.create_study("mo", metrics={"a": "minimize", "b": "minimize"}, seed=1)
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1 - t.suggest_float("x", 0, 1)),
                   n_trials=10)
    front = study.best_trials
    assert len(front) == 10  # on a line a + b = 1 nothing dominates anything
    with pytest.raises(dialed.ConfigError, match="best_trials"):
        _ = study.best_trial


def test_same_name_different_distribution_is_space_error() -> None:
    study = dialed.create_study("sp")
    study.optimize(lambda t: t.suggest_float("lr", 1e-4, 1e-1, log=True), n_trials=1)
    with pytest.raises(dialed.SpaceError, match="'lr'"):
        study.optimize(lambda t: t.suggest_float("lr", 0.0, 1.0), n_trials=1)


def test_conditional_define_by_run() -> None:
    study = dialed.create_study("cond", seed=0)

    def obj(trial: dialed.Trial) -> float:
        kind = trial.suggest_categorical("model", ["svm", "tree"])
        if kind == "svm":
            return trial.suggest_float("C", 1e-3, 1e3, log=True)
        return float(trial.suggest_int("depth", 1, 10))

    study.optimize(obj, n_trials=20)
    for t in study.trials:
        assert ("C" in t.params) == (t.params["model"] == "svm")
        assert ("depth" in t.params) == (t.params["model"] == "tree")


def test_enqueue_runs_first_with_those_params() -> None:
    study = dialed.create_study("enq")
    study.optimize(quadratic, n_trials=1)
    study.enqueue({"x": 1.0, "y": 0})
    study.optimize(quadratic, n_trials=2)
    assert dict(study.trials[1].params) == {"x": 1.0, "y": 0}
    assert study.best_value == 0.0
    with pytest.raises(dialed.SpaceError, match="'y'"):
        study.enqueue({"y": 99})


def test_ask_tell() -> None:
    study = dialed.create_study("at", metrics={"loss": "minimize"})
    t = study.ask()
    x = t.suggest_float("x", 0, 1)
    rec = study.tell(t, x * 2)
    assert rec.state == TrialState.COMPLETE and rec.metrics["loss"] == x * 2
    assert dict(rec.params) == {"x": x}
    with pytest.raises(dialed.StorageError, match="already complete"):
        study.tell(t, 1.0)
    t2 = study.ask()
    assert study.tell(t2, state="pruned").state == TrialState.PRUNED
    t3 = study.ask()
    assert study.tell(t3.number, math.nan).state == TrialState.FAILED


def test_pruned_keeps_curve() -> None:
    study = dialed.create_study("pr")

    def obj(trial: dialed.Trial) -> float:
        for step in range(3):
            trial.report(1.0 / (step + 1), step)
        raise dialed.Pruned("stalled")

    study.optimize(obj, n_trials=1)
    (t,) = study.trials
    assert t.state == TrialState.PRUNED
    assert dict(t.intermediate) == {0: 1.0, 1: 0.5, 2: 1 / 3}
    assert t.system_attrs["pruned_at"] == 2
    assert t.system_attrs["prune_reason"] == "stalled"


def test_diverged_report_asks_to_prune() -> None:
    study = dialed.create_study("div")

    def obj(trial: dialed.Trial) -> float:
        trial.report(1.0, 0)
        trial.report(math.nan, 1)
        if trial.should_prune():
            raise dialed.Pruned()
        return 0.0

    study.optimize(obj, n_trials=1)
    (t,) = study.trials
    assert t.state == TrialState.PRUNED
    assert "diverged" in t.system_attrs["prune_reason"]
    assert t.system_attrs["diverged_at"] == 1


def test_timeout_stops() -> None:
    import time

    study = dialed.create_study("to")
    study.optimize(lambda t: time.sleep(0.05) or 0.0, timeout=0.5)
    # no trial starts after the deadline: 10 sleeps of 0.05 s fill it, an 11th may just start
    # (a loaded machine runs fewer); without the deadline it would run until interrupted
    assert 1 <= len(study.trials) <= 11 and all(t.state.finished for t in study.trials)


def test_callbacks_see_each_trial() -> None:
    seen: list[int] = []
    study = dialed.create_study("cb")
    study.optimize(lambda t: 1.0, n_trials=4, callbacks=[lambda s, r: seen.append(r.number)])
    assert seen == [0, 1, 2, 3]


def test_export_csv_and_json() -> None:
    study = dialed.create_study("ex", metrics={"loss": "minimize", "acc": "track"}, seed=0)
    study.optimize(lambda t: {"loss": t.suggest_float("x", 0, 1), "acc": 1.0}, n_trials=5)
    rows = list(csv.DictReader(io.StringIO(study.export(format="csv"))))
    assert len(rows) == 5
    assert min(float(r["metric_loss"]) for r in rows) == study.best_value
    data = json.loads(study.export(format="json"))
    assert data["study"]["metrics"] == {"loss": "minimize", "acc": "track"}
    assert [t["number"] for t in data["trials"]] == list(range(5))
    with pytest.raises(dialed.ConfigError, match="csv"):
        study.export(format="xml")
    df = study.trials_dataframe()
    assert list(df["number"]) == list(range(5))


def test_user_attrs() -> None:
    study = dialed.create_study("ua")
    study.set_user_attr("owner", "ana")

    def obj(trial: dialed.Trial) -> float:
        trial.set_user_attr("note", "hi")
        return 0.0

    study.optimize(obj, n_trials=1)
    assert study.user_attrs == {"owner": "ana"}
    assert study.trials[0].user_attrs == {"note": "hi"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "bad name!"}, "study name"),
        ({"metrics": {"loss": "smallest"}}, "'loss'"),
        ({"metrics": {"acc": "track"}}, "no objective"),
        ({"seed": -1}, "seed"),
        ({"sampler": "nosuch"}, "unknown sampler"),
        ({"pruner": "nosuch"}, "unknown pruner"),
        ({"storage": "nosuch://x"}, "unknown storage URL"),
        ({"max_retries": -1}, "max_retries"),
    ],
)
def test_create_study_bad_input(kwargs: dict[str, object], message: str) -> None:
    kwargs.setdefault("name", "ok")
    with pytest.raises(dialed.DialedError, match=message):
        dialed.create_study(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"n_trials": -1}, "n_trials"), ({"timeout": 0}, "timeout"), ({"n_jobs": 0}, "n_jobs"),
     ({"catch": (int,)}, "catch")],
)
def test_optimize_bad_input(kwargs: dict[str, object], message: str) -> None:
    study = dialed.create_study("bad")
    with pytest.raises(dialed.ConfigError, match=message):
        study.optimize(quadratic, **kwargs)  # type: ignore[arg-type]


def test_in_memory_n_jobs_uses_threads() -> None:
    study = dialed.create_study("thr", seed=0)
    with pytest.warns(UserWarning, match="threads"):
        study.optimize(quadratic, n_trials=12, n_jobs=2)
    assert sorted(t.number for t in study.trials) == list(range(12))
    assert all(t.state == TrialState.COMPLETE for t in study.trials)


def test_public_api_all() -> None:
    for name in dialed.__all__:
        assert hasattr(dialed, name), name
    assert "create_study" in dialed.__all__ and "Pruned" in dialed.__all__


def test_load_if_exists_reuses_and_checks_metrics(tmp_path: object) -> None:
    from pathlib import Path

    url = f"sqlite:///{Path(str(tmp_path)) / 'r.db'}"
    a = dialed.create_study("same", storage=url, metrics={"loss": "minimize"}, seed=1)
    a.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    b = dialed.create_study("same", storage=url, metrics={"loss": "minimize"},
                            load_if_exists=True)
    assert b.study_id == a.study_id and len(b.trials) == 2 and b.seed == 1
    with pytest.raises(dialed.ConfigError, match="exists with metrics"):
        dialed.create_study("same", storage=url, metrics={"acc": "maximize"},
                            load_if_exists=True)


def test_bad_name_creates_no_database(tmp_path: object) -> None:
    from pathlib import Path

    db = Path(str(tmp_path)) / "never.db"
    with pytest.raises(dialed.ConfigError, match="study name"):
        dialed.create_study("no spaces allowed", storage=f"sqlite:///{db}")
    assert not db.exists()


def test_batch_ask_shows_running_trials_to_the_sampler() -> None:
    seen: list[list[dict[str, object]]] = []

    class Spy(dialed.samplers.RandomSampler):
        def suggest(self, history, space, number):  # type: ignore[no-untyped-def]
            seen.append([dict(t.params) for t in history.running])
            return super().suggest(history, space, number)

    study = dialed.create_study("batch", sampler=Spy(seed=0),
                                space={"x": {"type": "float", "low": 0, "high": 1}})
    space = study.space
    asked = []
    for _ in range(3):
        t = study.ask()
        t.suggest_space(space)
        asked.append(t)
    assert [len(s) for s in seen] == [0, 1, 2]
    assert seen[2] == [asked[0].params, asked[1].params]
    for t in asked:
        study.tell(t, t.params["x"])
