"""A trial's artifacts and checkpoint are listed on its dashboard page and in the report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient

import dialed
from dialed.dashboard import create_app
from dialed.report import render_report


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'art.db'}"
    study = dialed.create_study("art", storage=url, seed=2)

    def objective(trial: dialed.Trial) -> float:
        trial.report(0.5, 3)
        trial.save_checkpoint({"epoch": 3})
        trial.save_artifact(b"<svg/>", "curve.svg")
        return 0.5

    study.optimize(objective, n_trials=1)
    return url


def test_the_trial_page_lists_its_artifacts(url: str) -> None:
    with TestClient(create_app(url), base_url="http://127.0.0.1:8080") as client:
        page = client.get("/studies/art/trials/0")
        assert page.status_code == 200
        card = page.text[page.text.index('id="artifacts-card"'):]
        assert re.search(r"curve\.svg</th><td[^>]*>6 bytes", card)
        assert re.search(r"checkpoint</th><td[^>]*>saved at step 3", card)
        detail = client.get("/api/studies/art/trials/0").json()
        assert detail["artifacts"] == [{"name": "curve.svg", "text": "6 bytes"},
                                       {"name": "checkpoint", "text": "saved at step 3"}]


def test_the_report_lists_them_too(url: str) -> None:
    html = render_report(url, "art")
    assert 'id="detail-artifacts"' in html
    data = json.loads(html.split('id="report-data">', 1)[1].split("</script>", 1)[0])
    assert data["table"]["details"]["0"]["artifacts"][0] == {"name": "curve.svg",
                                                            "text": "6 bytes"}
