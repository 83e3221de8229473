"""MLflowCallback against a real MLflow store in a temporary directory (no server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import dialed
from dialed.errors import ConfigError
from dialed.integrations.mlflow import MLflowCallback


@pytest.fixture
def file_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    # MLflow 3 keeps the file store but asks for this switch before writing one
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    return (tmp_path / "mlruns").as_uri()


def objective(trial: dialed.Trial) -> float:
    x = trial.suggest_float("x", -1.0, 1.0, family="optimizer")
    width = trial.suggest_int("width", 1, 4, family="architecture")
    act = trial.suggest_categorical("act", ["relu", "tanh"], family="architecture")
    loss = (x - 0.3) ** 2 + 0.01 * width + (0.05 if act == "tanh" else 0.0)
    for step in range(5):
        trial.report(loss + 1.0 / (step + 1), step)
        if trial.should_prune():
            raise dialed.Pruned()
    return loss


def _runs(cb: MLflowCallback, experiment: str) -> tuple[Any, list[Any]]:
    client = cb.client
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    studies = [r for r in runs if r.data.tags.get("dialed.kind") == "study"]
    assert len(studies) == 1
    trials = sorted((r for r in runs if r.data.tags.get("dialed.kind") == "trial"),
                    key=lambda r: int(r.data.tags["dialed.trial"]))
    return studies[0], trials


def test_a_run_per_trial_nested_under_the_study_run(file_store: str) -> None:
    study = dialed.create_study("mlf", metrics={"loss": "minimize"}, seed=3, pruner="median")
    cb = MLflowCallback(file_store)
    study.optimize(objective, n_trials=12, callbacks=[cb])

    parent, runs = _runs(cb, "mlf")
    records = study.trials
    assert [int(r.data.tags["dialed.trial"]) for r in runs] == [t.number for t in records]
    assert {r.data.tags["mlflow.parentRunId"] for r in runs} == {parent.info.run_id}
    assert parent.data.tags["dialed.seed"] == "3"
    states = {t.state.value for t in records}
    assert "pruned" in states and "complete" in states  # the median pruner stopped some
    status = {"complete": "FINISHED", "pruned": "KILLED"}
    client = cb.client
    for run, rec in zip(runs, records, strict=True):
        tags = run.data.tags
        assert tags["dialed.state"] == rec.state.value
        assert run.info.status == status[rec.state.value]
        assert tags["dialed.seed"] == str(rec.seed)
        assert tags["dialed.families"] == "architecture,optimizer"
        assert tags["dialed.role"] == "search"
        assert run.data.params == {"x": repr(rec.params["x"]), "width": str(rec.params["width"]),
                                   "act": rec.params["act"]}
        if rec.state == dialed.TrialState.COMPLETE:
            assert run.data.metrics["loss"] == pytest.approx(rec.metrics["loss"])
        else:
            assert "loss" not in run.data.metrics
            assert tags["dialed.pruned_at"] == str(max(rec.intermediate))
            assert "median" in tags["dialed.prune_reason"]
        curve = client.get_metric_history(run.info.run_id, "intermediate")
        assert {m.step: m.value for m in curve} == pytest.approx(dict(rec.intermediate))

    # the study's run: the best value after each trial, stepped by trial number
    best = client.get_metric_history(parent.info.run_id, "best_loss")
    running, expected = float("inf"), {}
    for rec in records:
        if rec.state == dialed.TrialState.COMPLETE:
            running = min(running, rec.metrics["loss"])
        if running < float("inf"):
            expected[rec.number] = running
    assert {m.step: m.value for m in best} == pytest.approx(expected)
    assert parent.data.tags["dialed.trials.pruned"] == str(
        sum(t.state == dialed.TrialState.PRUNED for t in records))


def test_a_failed_trial_is_a_failed_run_with_its_error(file_store: str) -> None:
    study = dialed.create_study("fails", direction="minimize", seed=0)

    def broken(trial: dialed.Trial) -> float:
        trial.suggest_float("x", 0.0, 1.0)
        raise RuntimeError("the data loader ran dry")

    cb = MLflowCallback(file_store, experiment="tracking")
    study.optimize(broken, n_trials=2, catch=RuntimeError, callbacks=[cb])
    parent, runs = _runs(cb, "tracking")
    assert [r.info.status for r in runs] == ["FAILED", "FAILED"]
    assert all("the data loader ran dry" in r.data.tags["dialed.error"] for r in runs)
    assert "best_value" not in parent.data.metrics


def test_workflow_trials_carry_their_role_and_a_resumed_study_reuses_its_run(
    file_store: str, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'wf.db'}"
    study = dialed.create_study("wf", storage=url, metrics={"loss": "minimize"}, seed=1)

    def simple(trial: dialed.Trial) -> float:
        lr = trial.suggest_float("lr", 1e-4, 1.0, log=True, family="optimizer")
        alpha = trial.suggest_float("alpha", 0.0, 1.0, family="regularization")
        return (lr - 0.1) ** 2 + (alpha - 0.3) ** 2

    wf = dialed.Workflow(study, simple, baseline={"lr": 0.01, "alpha": 0.9}, repeats=2)
    wf.run_baseline()
    wf.run_stage("optimizer", trials=4)
    cb = MLflowCallback(file_store)
    assert cb.log_study(study) == len(study.trials)
    assert cb.log_study(study) == 0  # nothing twice

    # a second handle, another callback object (another process, say): the same study run
    again = dialed.load_study("wf", storage=url)
    later = MLflowCallback(file_store)
    again.optimize(simple, n_trials=2, callbacks=[later])
    parent, runs = _runs(later, "wf")
    assert later.study_run_id(again) == parent.info.run_id
    by_number = {t.number: t for t in again.trials}
    assert sorted(int(r.data.tags["dialed.trial"]) for r in runs) == sorted(by_number)
    for run in runs:
        attrs = by_number[int(run.data.tags["dialed.trial"])].system_attrs
        assert run.data.tags["dialed.role"] == attrs.get("role", "search")
        assert run.data.tags.get("dialed.step") == attrs.get("step")
    roles = [r.data.tags["dialed.role"] for r in runs]
    assert roles.count("baseline") == 2 and roles.count("search") == 6 and "stage" in roles


def test_nested_under_a_given_run_and_worker_processes(
    file_store: str, tmp_path: Path
) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(file_store)
    exp = client.create_experiment("outer")
    outer = client.create_run(exp).info.run_id
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    study = dialed.create_study("jobs", storage=url, direction="minimize", seed=2)
    cb = MLflowCallback(file_store, experiment="outer", parent_run_id=outer)
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0) ** 2, n_trials=4, n_jobs=2,
                   callbacks=[cb])
    runs = [r for r in client.search_runs([exp]) if r.data.tags.get("dialed.kind") == "trial"]
    assert sorted(int(r.data.tags["dialed.trial"]) for r in runs) == [0, 1, 2, 3]
    assert {r.data.tags["mlflow.parentRunId"] for r in runs} == {outer}


def test_bad_arguments_are_one_line_errors() -> None:
    with pytest.raises(ConfigError, match="experiment must be a non-empty name"):
        MLflowCallback(experiment="")
    with pytest.raises(ConfigError, match="curve must be a non-empty metric key"):
        MLflowCallback(curve="")
