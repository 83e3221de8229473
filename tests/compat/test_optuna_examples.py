"""Five scripts of optuna-examples (examples/optuna/), changed only in their import line (and a
smaller n_trials), run as their authors run them: ``python script.py``."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "optuna"


@pytest.mark.parametrize("script, expected", [
    # the best values are accuracies; the examples leave their splits and models unseeded, so
    # 1.0 can happen (lightgbm_simple's holdout reached it in one CI run)
    ("sklearn_simple.py",
     r"FrozenTrial\(number=\d+, state=COMPLETE, values=\[(0\.\d+|1\.0)\]"),
    ("sklearn_additional_args.py",
     r"FrozenTrial\(number=\d+, state=COMPLETE, values=\[(0\.\d+|1\.0)\]"),
    ("lightgbm_simple.py", r"Number of finished trials: 8\nBest trial:\n  Value: (0\.\d+|1\.0)\n"),
    ("pruning.py", r"Number of finished trials:  12\n  Number of pruned trials:  \d+\n"
                   r"  Number of complete trials:  \d+\nBest trial:\n  Value:  \d"),
    ("quadratic_multi_objective.py", r"The 0-th Pareto solution was found at Trial#\d+\.\n"
                                     r"  Params: \{'x': -?\d"),
])
def test_ported_example_runs(script: str, expected: str, capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if script == "lightgbm_simple.py":
        pytest.importorskip("lightgbm", reason="the dev extra installs lightgbm")
    source = (EXAMPLES / script).read_text()
    imports = [line for line in source.splitlines()
               if line.startswith(("import ", "from ")) and "optuna" in line]
    assert imports and all(line.startswith(("import dialed.compat.optuna as optuna",
                                            "from dialed.compat.optuna import"))
                           for line in imports)
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    out = capsys.readouterr().out
    assert re.search(expected, out), out
