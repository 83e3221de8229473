"""``import dialed`` stays light: the heavy libraries come in where they are first used.

A fresh interpreter imports dialed (and runs a small in-memory study with the default
sampler's first trials, and the CLI's --help) and lists what it loaded; not a timing test (the
timings against Optuna's are in benchmarks/results/startup.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

#: What `import dialed` must not load.
HEAVY = ("scipy.stats", "sklearn", "torch", "ray", "sqlalchemy.dialects.postgresql",
         "starlette", "pandas", "pydantic", "rich")


def _loaded(code: str) -> set[str]:
    script = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=True)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def _heavy(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules for h in names if m == h or m.startswith(h + "."))


def test_import_dialed_loads_no_heavy_library() -> None:
    assert _heavy(_loaded("import dialed"), HEAVY) == []


def test_the_public_names_are_there_when_asked_for() -> None:
    loaded = _loaded("import dialed\nassert callable(dialed.Workflow) and "
                     "callable(dialed.recommend) and dialed.samplers.GPSampler.name == 'gp'")
    assert "dialed.workflow" in loaded and "dialed.samplers._gp" in loaded


def test_dir_lists_the_names_not_yet_imported() -> None:
    # A REPL completes from dir(): the deferred names are listed before they are first used.
    script = ("import dialed, dialed.metrics, dialed.samplers, dialed.space, json, sys\n"
              "listed = {m.__name__: sorted(set(m.__all__) - set(dir(m))) for m in "
              "(dialed, dialed.metrics, dialed.samplers, dialed.space)}\n"
              "print(json.dumps([listed, 'dialed.samplers._gp' in sys.modules]))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=True)
    missing, gp_loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert missing == {"dialed": [], "dialed.metrics": [], "dialed.samplers": [],
                       "dialed.space": []}
    assert not gp_loaded  # listing the names imported none of them


@pytest.mark.parametrize("code", [
    "from dialed.cli import app",  # what `dialed --help` imports
    "import dialed\ns = dialed.create_study()\n"
    "s.optimize(lambda t: t.suggest_float('x', 0, 1), n_trials=3)",  # memory, GP start-up
    "import dialed, tempfile\ns = dialed.create_study(storage=f'sqlite:///{tempfile.mkdtemp()}"
    "/s.db')\ns.optimize(lambda t: t.suggest_float('x', 0, 1), n_trials=3)",  # on SQLite
])
def test_a_study_and_the_cli_need_none_of_the_extras(code: str) -> None:
    extras = ("sklearn", "torch", "ray", "sqlalchemy.dialects.postgresql", "starlette",
              "pandas")
    assert _heavy(_loaded(code), extras) == []


def test_the_default_sampler_never_imports_scipy_stats() -> None:
    # 200 trials of `auto`: the GP's start-up, the GP alone, then the GP and TPE in turns.
    # scipy.stats costs more CPU to import than the GP's start-up and 20 of its suggestions
    # (benchmarks/results/gp-cost.md); the `sobol` sampler, which is SciPy's, may load it.
    code = ("import dialed\ns = dialed.create_study(seed=0)\n"
            "s.optimize(lambda t: sum((t.suggest_float(f'x{i}', -5.0, 5.0) - 1.0) ** 2 "
            "for i in range(5)), n_trials=200)\n"
            "assert len(s.trials) == 200")
    loaded = _loaded(code)
    assert {"dialed.samplers._gp", "dialed.samplers._tpe"} <= loaded  # both phases ran
    assert _heavy(loaded, ("scipy.stats",)) == []


def test_listing_a_studys_trials_reads_the_storage_without_numpy(tmp_path: Path) -> None:
    # `dialed trials NAME --limit 10` and `dialed studies` read records: they build no study
    # (its sampler, pruner and history are NumPy's), so the command pays for no NumPy import.
    url = f"sqlite:///{tmp_path / 's.db'}"
    subprocess.run([sys.executable, "-c", (
        f"import dialed\ns = dialed.create_study('listed', storage={url!r}, seed=0)\n"
        "s.optimize(lambda t: t.suggest_float('x', 0, 1), n_trials=12)")],
        check=True, timeout=120)
    for argv, expected in ((["trials", "listed", "--storage", url, "--limit", "10"],
                            "the last 10 of 12 trials"),
                           (["studies", "--storage", url], "listed")):
        script = ("import contextlib, io, json, sys\nfrom dialed.cli import main\n"
                  f"sys.argv = ['dialed', *{argv!r}]\nout = io.StringIO()\n"
                  "with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):\n"
                  "    main()\n"
                  "print(json.dumps([out.getvalue(), sorted(sys.modules)]))\n")
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              timeout=120, check=True, env={**os.environ, "COLUMNS": "200"})
        shown, modules = json.loads(done.stdout.strip().splitlines()[-1])
        assert expected in shown
        assert _heavy(set(modules), ("numpy",)) == [], argv


def test_the_default_samplers_start_up_design_leaves_scipy_to_the_first_fit() -> None:
    # The GP's model and acquisition bring in scipy.optimize and TPE's Parzen estimator
    # scipy.special (about 0.4 s of CPU together); the start-up design's trials fit nothing, so
    # a study's first trials start without SciPy.
    code = ("import dialed, sys\ns = dialed.create_study(seed=0)\n"
            "f = lambda t: sum((t.suggest_float(f'x{i}', -5.0, 5.0) - 1.0) ** 2\n"
            "                  for i in range(3))\n"
            "s.optimize(f, n_trials=4)\n"
            "print('BEFORE', sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))\n"
            "s.optimize(f, n_trials=12)\n"
            "assert len(s.trials) == 16")
    done = subprocess.run([sys.executable, "-c", code + "\nimport json\n"
                           "print(json.dumps(sorted(sys.modules)))\n"],
                          capture_output=True, text=True, timeout=120, check=True)
    lines = done.stdout.strip().splitlines()
    assert "BEFORE []" in lines
    assert {"scipy.optimize", "dialed.samplers._gp_model"} <= set(json.loads(lines[-1]))
