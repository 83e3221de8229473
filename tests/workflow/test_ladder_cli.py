"""``dialed ladder`` end to end on a real model: scikit-learn's Lasso with the rows of data as
the scale (regularisation against rows), then ``dialed ladder predict`` with ``--enqueue``;
bad input is one line on stderr and exit code 2."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import dialed
from dialed.cli import app

pytest.importorskip("sklearn")

MODULE = '''
import numpy as np
from sklearn.linear_model import Lasso


def data(rows, seed):
    rng = np.random.default_rng(seed)
    w = np.zeros(40)
    w[:5] = [2.0, -1.5, 1.0, 0.8, -0.6]
    X = rng.normal(size=(rows + 2000, 40))
    y = X @ w + rng.normal(0.0, 2.0, rows + 2000)
    return X[:rows], y[:rows], X[rows:], y[rows:]


def objective(trial):
    rows = int(trial.scale["rows"])
    X, y, Xv, yv = data(rows, trial.seed % 1000)
    model = Lasso(alpha=trial.params["alpha"], max_iter=5000).fit(X, y)
    return float(np.mean((model.predict(Xv) - yv) ** 2))
'''

STUDY = """
study: lasso
storage: sqlite:///ladder.db
objective: lasso_rows:objective
metrics: {val_mse: minimize}
space:
  alpha: {type: float, low: 0.001, high: 10, log: true, family: regularization}
budget: {trials: 14}
strategy: tpe
confirm: {top: 2, repeats: 3}
seed: 0
"""


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def one_line_error(result: Result, *parts: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for part in parts:
        assert part in lines[0], lines[0]


def test_lasso_ladder_over_rows_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    (tmp_path / "lasso_rows.py").write_text(textwrap.dedent(MODULE))
    study_file = tmp_path / "study.yaml"
    study_file.write_text(STUDY)
    monkeypatch.chdir(tmp_path)
    ran = invoke("ladder", str(study_file), "--scale", "rows=60,120,240,480")
    assert ran.exit_code == 0, ran.output
    assert "alpha*(N) = " in ran.stdout and "lasso.rows480" in ran.stdout
    url = f"sqlite:///{tmp_path / 'ladder.db'}"
    rungs = [dialed.load_study(f"lasso.rows{n}", storage=url) for n in (60, 120, 240, 480)]
    assert [r.scale for r in rungs] == [{"rows": n} for n in (60, 120, 240, 480)]
    assert all(dialed.Workflow(r).confirmations() for r in rungs)
    # the best regularisation falls as rows grow (the noise averages out)
    fit = dialed.load_study("lasso", storage=url).attrs["ladder:fit"]
    assert fit["laws"]["alpha"]["b"] < 0, fit["laws"]["alpha"]

    pred = invoke("--storage", url, "ladder", "predict", "lasso", "--scale", "rows=1920",
                  "--enqueue", "lasso.big")
    assert pred.exit_code == 0, pred.output
    assert "predicted at rows=1920" in pred.stdout and "alpha = " in pred.stdout
    assert "enqueued into study 'lasso.big'" in pred.stdout
    big = dialed.load_study("lasso.big", storage=url)
    # the prediction, its inner interval's ends, its interval's corners
    assert big.scale == {"rows": 1920} and len(big.get_trials(["waiting"])) == 5
    # the big study runs from its recorded objective: the prediction first
    big_run = dialed.Workflow(big, _objective(tmp_path))
    big_run.run_baseline()
    assert big_run.baseline() is not None
    assert big_run.baseline().params["alpha"] == pytest.approx(
        big.get_trials(["complete"])[0].params["alpha"])


def _objective(folder: Path):  # type: ignore[no-untyped-def]
    from dialed.workflow import import_function

    return import_function("lasso_rows:objective", folder, "objective")


def test_bad_input_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lasso_rows.py").write_text(textwrap.dedent(MODULE))
    study_file = tmp_path / "study.yaml"
    study_file.write_text(STUDY)
    monkeypatch.chdir(tmp_path)
    one_line_error(invoke("ladder", str(study_file)), "give --scale")
    one_line_error(invoke("ladder", str(study_file), "--scale", "rows=100"),
                   "ladder 'lasso': needs at least two rungs")
    one_line_error(invoke("ladder", str(study_file), "--scale", "rows=1,x"), "'x' is not a number")
    one_line_error(invoke("ladder", str(study_file), "--scale", "rows"), "--scale must look like")
    url = f"sqlite:///{tmp_path / 'none.db'}"
    one_line_error(invoke("--storage", url, "ladder", "predict", "nope", "--scale", "rows=9"),
                   "no ladder named 'nope'")
    bad = tmp_path / "bad.yaml"
    bad.write_text(STUDY + "scale: {rows: -3}\n")
    one_line_error(invoke("ladder", str(bad), "--scale", "rows=1,2"), "scale rows must be a "
                   "number > 0")
