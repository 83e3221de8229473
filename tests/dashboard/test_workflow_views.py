"""The workflow's records on a study page: the summary, each record, the registry's history."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

import dialed
from dialed.dashboard import Dashboard, open_read_only
from dialed.dashboard._views import registry_history

workflow = pytest.importorskip("dialed.workflow")


def _objective(trial: dialed.Trial) -> float:
    lr = trial.suggest_float("lr", 1e-4, 1.0, log=True, family="optimizer")
    alpha = trial.suggest_float("alpha", 0.0, 1.0, family="regularization")
    return (lr - 0.1) ** 2 + (alpha - 0.3) ** 2 + 0.001 * (trial.seed % 7)


@pytest.fixture(scope="module")
def wf_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("workflow") / "wf.db"
    url = f"sqlite:///{path}"
    study = dialed.create_study("wf", storage=url, metrics={"loss": "minimize"}, seed=0)
    wf = workflow.Workflow(study, _objective, baseline={"lr": 0.01, "alpha": 0.9}, repeats=2)
    wf.run_stage("optimizer", trials=4)
    wf.confirm(top=2)
    configs = workflow.registry(url)
    configs.promote(study, name="cfg", note="<b>first</b>")
    configs.promote(study, name="cfg", trial=0, note="the baseline again")
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_study_page_shows_the_workflow_summary_and_records(wf_db: Path) -> None:
    before = _digest(wf_db)
    model = Dashboard(open_read_only(f"sqlite:///{wf_db}"), importance=False)
    o = model.overview("wf")
    text = o["workflow_summary"]
    assert text is not None
    assert "baseline" in text and "stages" in text and "confirm round 1" in text
    keys = [s["key"] for s in o["workflow"]]
    assert keys[:2] == ["workflow:plan", "workflow:baseline"]
    assert "workflow:stage:1" in keys and "workflow:confirm:1" in keys
    assert not any(k.startswith("workflow:queued:") for k in keys)
    assert [v["version"] for v in o["registry"]] == [1, 2]
    assert o["registry"][0]["origin"].startswith("wf trial")
    assert o["registry"][1]["changes"]  # version 2 changed some parameters
    reg = model.overview("_registry")
    assert [v["name"] for v in reg["registry"]] == ["cfg", "cfg"]
    assert _digest(wf_db) == before  # the summary was read through the read-only storage


def test_workflow_views_render_escaped(wf_db: Path) -> None:
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from dialed.dashboard import create_app

    with TestClient(create_app(f"sqlite:///{wf_db}", importance=False),
                    base_url="http://127.0.0.1") as c:
        page = c.get("/studies/wf").text
        assert 'id="workflow-summary"' in page and 'id="registry"' in page
        assert "&lt;b&gt;first&lt;/b&gt;" in page and "<b>first</b>" not in page


def test_registry_history_lists_what_each_version_changed() -> None:
    attrs: dict[str, Any] = {
        "kind": "dialed configuration registry",
        "registry:a:000002": {"params": {"lr": 0.1, "depth": 3}, "kind": "promote",
                              "study": "s2", "trial": 4, "source": "trial"},
        "registry:a:000001": {"params": {"lr": 0.01, "depth": 3}, "kind": "promote",
                              "study": "s1", "trial": 1, "source": "confirm:1"},
        "registry:a:000003": {"params": {"lr": 0.01, "depth": 3}, "kind": "rollback",
                              "rollback_to": 1},
        "registry:b:000001": {"params": {"x": 1}, "kind": "promote", "study": "other"},
    }
    rows = registry_history(attrs, None, workflow.diff_params)
    assert [(r["name"], r["version"]) for r in rows] == [("a", 1), ("a", 2), ("a", 3), ("b", 1)]
    assert rows[1]["changes"] == [{"param": "lr", "old": "0.01", "new": "0.1"}]
    assert rows[2]["changes"] == [{"param": "lr", "old": "0.1", "new": "0.01"}]
    assert rows[2]["origin"] == "rollback to version 1"
    assert [r["name"] for r in registry_history(attrs, "s2", workflow.diff_params)] == [
        "a", "a", "a"]
