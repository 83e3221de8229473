"""``dialed trials`` beyond 500 rows: plain text lines (one per trial, params unwrapped), the
same cells as the Rich table, the caption when rows are left out."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

import dialed
from dialed.cli import app
from dialed.cli._app import PLAIN_ROWS
from dialed.trial import TrialState

N = PLAIN_ROWS + 20


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('listing') / 'big.db'}"
    study = dialed.create_study("big", storage=url, sampler="random", seed=0,
                                metrics={"loss": "minimize", "size": "track"})

    def objective(trial: dialed.Trial) -> dict[str, float]:
        x = trial.suggest_float("x", -5.0, 5.0)
        kind = trial.suggest_categorical("kind", ["[red]", "plain"])
        if trial.number % 100 == 7:
            raise RuntimeError(f"trial {trial.number} broke")
        return {"loss": x * x, "size": float(len(kind))}

    study.optimize(objective, n_trials=N, catch=(RuntimeError,))
    return url


def test_a_long_listing_is_one_plain_line_per_trial(url: str) -> None:
    out = CliRunner().invoke(app, ["trials", "big", "--storage", url, "--limit", "0"])
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert re.split(r"\s{2,}", lines[0].strip()) == ["#", "state", "loss", "size", "params",
                                                      "duration", "note"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    rows = lines[2:]
    assert len(rows) == N
    study = dialed.load_study("big", storage=url)
    for line, trial in zip(rows, study.trials, strict=True):
        cells = re.split(r"\s{2,}", line.strip())
        assert cells[0] == str(trial.number) and cells[1] == trial.state.value
        if trial.state is TrialState.COMPLETE:
            assert cells[2] == f"{trial.metrics['loss']:.6g}"
            assert f"kind={trial.params['kind']}" in line  # '[red]' as written, no markup
        else:
            assert line.endswith(f"RuntimeError: trial {trial.number} broke")
    widths = {len(line.split("  x=")[0]) for line in rows if "  x=" in line}
    assert len(widths) == 1  # the columns line up


def test_rows_left_out_are_said_under_a_long_listing(url: str) -> None:
    out = CliRunner().invoke(app, ["trials", "big", "--storage", url,
                                   "--limit", str(PLAIN_ROWS + 5)])
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert len(lines) == 2 + PLAIN_ROWS + 5 + 1
    assert lines[-1] == f"the last {PLAIN_ROWS + 5} of {N} trials (--limit 0 shows them all)"
    assert lines[2].split()[0] == str(N - PLAIN_ROWS - 5)
    short = CliRunner().invoke(app, ["trials", "big", "--storage", url, "--limit", "3"])
    assert "the last 3 of 520 trials" in short.stdout
    assert "-----" not in short.stdout  # a short listing is a Rich table, not the plain lines
