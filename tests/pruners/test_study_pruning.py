"""Pruners in a study: the declared resource, the hooks, several objectives, worker processes."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

import dialed
from dialed.errors import ConfigError
from dialed.history import History
from dialed.pruners import HyperbandPruner, Resource
from dialed.samplers import RandomSampler
from dialed.space import Space
from dialed.trial import TrialState

RESOURCE = {"name": "epochs", "min": 1, "max": 27, "reduction_factor": 3}


def curve_objective(trial: dialed.Trial) -> float:
    """A synthetic learning curve: loss(x, t) = (x - 0.3)^2 + 1 / t, best x = 0.3."""
    x = trial.suggest_float("x", 0.0, 1.0)
    loss = math.inf
    for epoch in range(1, int(trial.resource or 27) + 1):
        loss = (x - 0.3) ** 2 + 1.0 / epoch
        trial.report(loss, epoch)
        if trial.should_prune():
            raise dialed.Pruned()
    return loss


def test_resource_is_recorded_restored_and_exposed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    study = dialed.create_study("res", storage=url, resource=RESOURCE, seed=0)
    assert study.resource == Resource("epochs", min=1, max=27, reduction_factor=3)
    assert study.attrs["resource"] == RESOURCE
    seen: list[tuple[Any, Any]] = []

    def obj(trial: dialed.Trial) -> float:
        seen.append((trial.resource, trial.resource_name))
        return 0.0

    study.optimize(obj, n_trials=1)
    assert seen == [(27, "epochs")]
    again = dialed.load_study("res", storage=url)
    assert again.resource == study.resource
    again.optimize(obj, n_trials=1)
    assert seen[-1] == (27, "epochs")
    plain = dialed.create_study("plain")
    plain.optimize(obj, n_trials=1)
    assert seen[-1] == (None, None) and plain.resource is None


@pytest.mark.parametrize(
    ("resource", "field"),
    [
        ({"name": "epochs", "min": 0, "max": 9}, "resource min"),
        ({"name": "epochs", "min": 3, "max": 2}, "resource max"),
        ({"name": "epochs", "max": 9, "reduction_factor": 1}, "reduction_factor"),
        ({"name": "", "max": 9}, "resource name"),
        ({"name": "epochs"}, "resource needs max"),
        ({"name": "epochs", "max": 9, "maximum": 3}, "unknown field"),
        ({"name": "epochs", "max": "lots"}, "resource max"),
        ("epochs", "resource must be a mapping"),
    ],
)
def test_bad_resource_names_the_field(resource: Any, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        dialed.create_study("bad", resource=resource)


@pytest.mark.parametrize("name", ["median", "percentile", "asha", "hyperband"])
def test_several_objectives_are_refused_with_a_clear_message(name: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mo.db'}"
    pruner = {"name": name, "percentile": 25} if name == "percentile" else name
    with pytest.raises(ConfigError) as info:
        dialed.create_study("mo", storage=url, metrics={"loss": "minimize", "ms": "minimize"},
                            pruner=pruner, resource=RESOURCE)
    message = str(info.value)
    assert f"the {name!r} pruner ranks trials by a single objective" in message
    assert "2 (loss, ms)" in message
    assert "pruners that support several objectives: auto, none, patience" in message
    assert dialed.list_studies(url) == []  # nothing stored


def test_several_objectives_work_with_the_default_pruner() -> None:
    study = dialed.create_study("mo-ok", metrics={"loss": "minimize", "ms": "minimize"},
                                resource=RESOURCE, seed=0)

    def obj(trial: dialed.Trial) -> tuple[float, float]:
        x = trial.suggest_float("x", 0, 1)
        for step in range(1, 4):
            trial.report(x + 1 / step, step)
            if trial.should_prune():
                raise dialed.Pruned()
        return x, 1 - x

    study.optimize(obj, n_trials=6)
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    assert study.attrs["pruner_decision"]["pruner"] == "none"
    assert "2 objectives" in study.attrs["pruner_decision"]["reason"]


class SpySampler(RandomSampler):
    """Random, and remembers the trial numbers of the history it was shown."""

    def __init__(self, seed: int | None = None) -> None:
        super().__init__(seed)
        self.shown: dict[int, list[int]] = {}

    def suggest(self, history: History, space: Space, number: int) -> dict[str, Any]:
        self.shown[number] = [t.number for t in history.trials]
        return super().suggest(history, space, number)


def test_hyperband_tags_brackets_and_the_sampler_sees_its_bracket() -> None:
    spy = SpySampler(seed=0)
    pruner = HyperbandPruner(sampler_view="bracket")
    study = dialed.create_study("hb", sampler=spy, pruner=pruner, resource=RESOURCE, seed=0)
    study.optimize(curve_objective, n_trials=30)
    trials = study.trials
    for t in trials:
        assert t.system_attrs["bracket"] == pruner.bracket(t.number)
        assert t.system_attrs["bracket_min_resource"] == 3 ** t.system_attrs["bracket"]
    for number, shown in spy.shown.items():
        if number == 0:
            continue  # the first trial's space is not known yet: no joint proposal
        b = pruner.bracket(number)
        assert shown == [t.number for t in trials if t.number < number
                         and pruner.bracket(t.number) == b]
    assert {t.system_attrs["bracket"] for t in trials} == set(range(pruner.n_brackets))
    assert any(t.state == TrialState.PRUNED for t in trials)
    assert study.attrs["pruner"] == pruner.describe()


def test_auto_turns_asha_on_when_a_resource_is_declared() -> None:
    study = dialed.create_study("auto-asha", resource=RESOURCE, seed=0)
    assert study.attrs["pruner"] == {"name": "auto"}
    study.optimize(curve_objective, n_trials=30)
    decision = study.attrs["pruner_decision"]
    assert decision["pruner"] == "asha"
    assert "resource" in decision["reason"] and "epochs" in decision["reason"]
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert pruned and all("ASHA" in t.system_attrs["prune_reason"] for t in pruned)
    # once trials were pruned, auto's sampler kept the GP, fitted on the screened trials at
    # their budget (ASHA's BOHB-style view)
    decision = study.attrs["sampler_decision"]
    assert decision["sampler"] == "gp+tpe" and "screened" in decision["reason"]


def test_auto_uses_the_median_rule_without_a_resource_and_nothing_without_reports() -> None:
    study = dialed.create_study("auto-med", seed=0)
    study.optimize(curve_objective, n_trials=25)
    assert study.attrs["pruner_decision"]["pruner"] == "median"
    assert any(t.state == TrialState.PRUNED for t in study.trials)
    quiet = dialed.create_study("auto-quiet", seed=0)
    quiet.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=5)
    assert "pruner_decision" not in quiet.attrs


def test_two_worker_processes_on_sqlite_prune_from_each_others_reports(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'asha.db'}"
    study = dialed.create_study("asha-procs", storage=url, pruner="asha", resource=RESOURCE,
                                seed=0)
    study.optimize(curve_objective, n_trials=40, n_jobs=2)
    trials = study.trials
    assert len(trials) == 40
    assert len({t.worker for t in trials}) == 2
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert pruned and complete
    for t in pruned:
        assert t.system_attrs["pruned_at"] == max(t.intermediate)
        assert t.system_attrs["pruned_at"] in (1, 3, 9)  # the rungs below 27
        assert "ASHA" in t.system_attrs["prune_reason"]
    assert study.best_trial.state == TrialState.COMPLETE
    assert study.best_value == min(t.metrics["value"] for t in complete)
    # fewer epochs than running every trial to 27
    assert sum(len(t.intermediate) for t in trials) < 0.6 * 40 * 27
    # peers across processes: some trial was judged against a trial of the other worker
    workers = {t.number: t.worker for t in trials}
    assert any(workers[t.number] != workers[t.number - 1] for t in pruned if t.number)
    reopened = dialed.load_study("asha-procs", storage=url)
    assert reopened.pruner.describe() == study.pruner.describe()


def test_load_if_exists_keeps_the_resource_and_refuses_another(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    dialed.create_study("keep", storage=url, resource=RESOURCE)
    same = dialed.create_study("keep", storage=url, resource=dict(RESOURCE),
                               load_if_exists=True)
    assert same.resource == Resource.from_spec(RESOURCE)
    assert dialed.create_study("keep", storage=url, load_if_exists=True).resource == \
        same.resource
    with pytest.raises(ConfigError, match="exists with resource"):
        dialed.create_study("keep", storage=url, load_if_exists=True,
                            resource={**RESOURCE, "max": 81})
