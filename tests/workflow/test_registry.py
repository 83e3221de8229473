"""The configuration registry: append-only versions in the storage, history, rollback, get."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

import dialed
from dialed.errors import ConfigError, WorkflowError
from dialed.workflow import REGISTRY_STUDY, Registry, Workflow, registry, render_configuration

from .test_workflow import BASELINE, Counted, objective


def studied(storage: Any, name: str = "reg", seed: int = 0) -> dialed.Study:
    study = dialed.create_study(name, storage=storage, metrics={"loss": "minimize", "acc": "track"},
                                seed=seed)
    study.optimize(objective, n_trials=8)
    return study


def test_promote_history_rollback_get_round_trip(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    study = studied(url)
    reg = registry(url)
    trials = study.get_trials(["complete"])
    first = reg.promote(study, name="model", trial=trials[0].number, note="first try")
    second = reg.promote(study, name="model", trial=trials[1].number)
    assert (first.version, second.version) == (1, 2)
    assert first.params == dict(trials[0].params) and first.note == "first try"
    assert first.study == "reg" and first.trial == trials[0].number and first.kind == "promote"
    assert first.metrics == dict(trials[0].metrics) and first.confirmed is None

    history = reg.history("model")
    assert [v.version for v, _ in history] == [1, 2]
    changed = history[1][1]
    assert set(changed) == {"lr", "alpha"}
    assert changed["lr"] == (trials[0].params["lr"], trials[1].params["lr"])

    back = reg.rollback("model", note="v2 regressed")
    assert back.version == 3 and back.kind == "rollback" and back.rollback_to == 1
    assert back.params == first.params  # exactly the earlier parameters
    assert reg.get("model").params == first.params and reg.get("model").version == 3
    assert reg.get("model", 2).params == second.params

    again = Registry(url)  # a fresh handle (another process) reads the same versions
    assert [v.kind for v in again.versions("model")] == ["promote", "promote", "rollback"]
    assert again.names() == ["model"]
    assert again.history("model")[2][1] == {
        k: (second.params[k], first.params[k]) for k in ("lr", "alpha")
    }
    # everything is in the storage, as attributes of the reserved registry study
    attrs = dialed.storage.open_storage(url).get_study_attrs(
        dialed.storage.open_storage(url).get_study(REGISTRY_STUDY).study_id)
    assert sorted(k for k in attrs if k.startswith("registry:")) == [
        "registry:model:000001", "registry:model:000002", "registry:model:000003"]


def test_promote_defaults_to_the_confirmed_recommendation_with_its_test_result() -> None:
    study = dialed.create_study("conf", metrics={"loss": "minimize", "acc": "track"}, seed=1)
    wf = Workflow(study, objective, baseline=BASELINE, repeats=3)
    wf.run_stage("optimizer", trials=6)
    wf.confirm(top=2)
    wf.verify(Counted())
    study.storage.set_study_attr(study.study_id, "workflow:data", dialed.fingerprint(
        [[1.0, 2.0], [3.0, 4.0]], [0, 1]).to_dict())
    v = registry(study.storage).promote(study, name="m")
    rec = wf.recommended()
    assert rec is not None and v.params == rec.evaluation.params
    assert v.source == "confirm:1" and v.trial == rec.source_trial
    assert v.confirmed is not None and v.confirmed["n"] == 3 and v.confirmed["metric"] == "loss"
    assert v.metrics == pytest.approx(rec.evaluation.means())
    assert v.test is not None and v.test["number"] == 1 and not v.test["forced"]
    assert v.data is not None and v.data["n_rows"] == 2


def test_render_yaml_json_env() -> None:
    study = studied(None, "render")
    reg = registry(study.storage)
    v = reg.promote(study, name="cfg", trial=0)
    assert yaml.safe_load(render_configuration(v, "yaml")) == v.params
    assert json.loads(render_configuration(v, "json")) == v.params
    env = render_configuration(v, "env", prefix="model.")
    assert env.splitlines()[0].startswith("MODEL_LR=")
    with pytest.raises(ConfigError, match="yaml, json, env"):
        render_configuration(v, "toml")


def test_errors_name_what_is_valid() -> None:
    study = studied(None, "errs")
    reg = registry(study.storage)
    with pytest.raises(WorkflowError, match="registry is empty"):
        reg.get("nope")
    reg.promote(study, name="one", trial=0)
    with pytest.raises(WorkflowError, match="known: one"):
        reg.history("two")
    with pytest.raises(WorkflowError, match="only one version"):
        reg.rollback("one")
    with pytest.raises(WorkflowError, match="no version 7"):
        reg.get("one", 7)
    reg.promote(study, name="one", trial=1)
    with pytest.raises(WorkflowError, match="between 1 and 1"):
        reg.rollback("one", to=2)
    with pytest.raises(ConfigError, match="not valid"):
        reg.promote(study, name="bad:name", trial=0)


def test_concurrent_promotions_get_distinct_versions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    study = studied(url, "race")
    errors: list[BaseException] = []

    def promote(i: int) -> None:
        try:
            Registry(url).promote(dialed.load_study("race", storage=url), name="hot",
                                  trial=i % 4, note=str(i))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=promote, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    versions = registry(url).versions("hot")
    assert [v.version for v in versions] == list(range(1, 9))
    assert sorted(v.note or "" for v in versions) == [str(i) for i in range(8)]
    assert study.name == "race"
