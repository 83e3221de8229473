"""The default sampler's cost and the process's memory: dialed beside Optuna (issue 23).

Every measurement runs in a fresh Python subprocess (one thread for BLAS/OpenMP/torch), dialed's
and Optuna's alternating round by round so that a burst of load on a shared machine falls on
both alike; the report gives medians.

* **Default sampler, 200 trials in memory**: ``create_study(direction="minimize", seed=0)``
  with each library's default sampler (dialed: ``auto``; Optuna: ``TPESampler``), then
  ``optimize`` of a trivial objective over 5 floats in [-5, 5] (``suggest_float`` per
  parameter, define-by-run as a user writes it). CPU seconds of the ``optimize`` call (the
  process's ``time.process_time``), imports and study creation excluded. Target: dialed at
  most 2x Optuna.
* **RSS after import**: ``ru_maxrss`` of a process that ran only ``import dialed`` (or
  ``import optuna``); the bare interpreter's is shown beside. Target: dialed at most Optuna.
* **Peak RSS of 5,000 TPE trials in memory**: ``ru_maxrss`` of a process holding a study of
  5,000 finished trials with TPE: the first ``5000 - tpe_trials`` are written by each library's
  own bulk API (dialed: the ``Storage`` contract, as ``run.py`` prefills; Optuna:
  ``add_trials``) with uniform random parameters, the last ``tpe_trials`` (default 100) are
  run by ``optimize`` with the TPE sampler (Optuna's TPE is quadratic in the study's size, so
  5,000 TPE trials would take minutes; ``--tpe-trials 5000`` does it). Target: dialed at most
  Optuna.

    PYTHONPATH=src python -m benchmarks.overhead.run --only extra     # a few minutes
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks._bytecode import compile_src

ROOT = Path(__file__).resolve().parents[2]
N_PARAMS = 5
DEFAULT_TRIALS = 200
MEMORY_TRIALS = 5000

_PRELUDE = """
import json, resource, sys, time
import os
for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[v] = "1"
def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
"""

_IMPORT = {
    "python": "pass",
    "dialed": "import dialed",
    "optuna": "import optuna",
}

_DEFAULT = {
    "dialed": """
import warnings; warnings.simplefilter("ignore")
import dialed
def objective(trial):
    return sum((trial.suggest_float(f"x{i}", -5.0, 5.0) - 1.0) ** 2 for i in range(N))
study = dialed.create_study(direction="minimize", seed=0)
c0 = time.process_time(); w0 = time.perf_counter()
study.optimize(objective, n_trials=TRIALS)
""",
    "optuna": """
import warnings; warnings.simplefilter("ignore")
import optuna
optuna.logging.set_verbosity(optuna.logging.ERROR)
def objective(trial):
    return sum((trial.suggest_float(f"x{i}", -5.0, 5.0) - 1.0) ** 2 for i in range(N))
study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=0))
c0 = time.process_time(); w0 = time.perf_counter()
study.optimize(objective, n_trials=TRIALS)
""",
}

_MEMORY = {
    "dialed": """
import warnings; warnings.simplefilter("ignore")
import dialed
from benchmarks.overhead.run import dialed_prefill
from dialed.storage import open_storage
storage = open_storage("memory")
dialed_prefill(storage, "bench", PREFILL)
study = dialed.load_study("bench", storage=storage, sampler="tpe")
def objective(trial):
    return sum((trial.suggest_float(f"x{i}", -5.0, 5.0) - 1.0) ** 2 for i in range(N))
c0 = time.process_time(); w0 = time.perf_counter()
study.optimize(objective, n_trials=TRIALS)
""",
    "optuna": """
import warnings; warnings.simplefilter("ignore")
import optuna
optuna.logging.set_verbosity(optuna.logging.ERROR)
from benchmarks.overhead.run import optuna_prefill
storage = optuna.storages.InMemoryStorage()
optuna_prefill(storage, "bench", PREFILL)
study = optuna.load_study(study_name="bench", storage=storage,
                          sampler=optuna.samplers.TPESampler(seed=0))
def objective(trial):
    return sum((trial.suggest_float(f"x{i}", -5.0, 5.0) - 1.0) ** 2 for i in range(N))
c0 = time.process_time(); w0 = time.perf_counter()
study.optimize(objective, n_trials=TRIALS)
""",
}

_REPORT = """
print(json.dumps({"cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - w0,
                  "rss_mb": rss_mb()}))
"""


def _child(code: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; its last stdout line is a JSON object."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure_import(library: str) -> float:
    code = _PRELUDE + _IMPORT[library] + '\nprint(json.dumps({"rss_mb": rss_mb()}))\n'
    return float(_child(code)["rss_mb"])


def measure_default(library: str, trials: int) -> dict[str, Any]:
    code = (_PRELUDE + f"N = {N_PARAMS}\nTRIALS = {trials}\n" + _DEFAULT[library] + _REPORT)
    return _child(code)


def measure_memory(library: str, total: int, tpe_trials: int) -> dict[str, Any]:
    code = (_PRELUDE + f"N = {N_PARAMS}\nTRIALS = {tpe_trials}\n"
            f"PREFILL = {total - tpe_trials}\n" + _MEMORY[library] + _REPORT)
    return _child(code)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def run_extra(rounds: int, tpe_trials: int, out: Path, command: str) -> str:
    """Measure everything, write the report to ``out`` and return it."""
    compile_src()  # as `pip install` compiles Optuna's (see benchmarks/_bytecode.py)
    start = time.perf_counter()
    default: dict[str, list[dict[str, Any]]] = {"dialed": [], "optuna": []}
    imports: dict[str, list[float]] = {"python": [], "dialed": [], "optuna": []}
    memory: dict[str, list[dict[str, Any]]] = {"dialed": [], "optuna": []}
    for r in range(rounds):
        order = ("dialed", "optuna") if r % 2 == 0 else ("optuna", "dialed")
        for lib in ("python", *order):
            imports[lib].append(measure_import(lib))
        for lib in order:
            default[lib].append(measure_default(lib, DEFAULT_TRIALS))
            print(f"round {r + 1}: default {lib}: {default[lib][-1]['cpu_s']:.2f} s CPU",
                  flush=True)
        for lib in order:
            memory[lib].append(measure_memory(lib, MEMORY_TRIALS, tpe_trials))
            print(f"round {r + 1}: {MEMORY_TRIALS} TPE trials {lib}: "
                  f"{memory[lib][-1]['rss_mb']:.0f} MB peak", flush=True)

    def med(rows: Sequence[dict[str, Any]], key: str) -> float:
        return statistics.median(float(x[key]) for x in rows)

    d_cpu, o_cpu = med(default["dialed"], "cpu_s"), med(default["optuna"], "cpu_s")
    d_wall, o_wall = med(default["dialed"], "wall_s"), med(default["optuna"], "wall_s")
    i_py = statistics.median(imports["python"])
    i_d, i_o = statistics.median(imports["dialed"]), statistics.median(imports["optuna"])
    m_d, m_o = med(memory["dialed"], "rss_mb"), med(memory["optuna"], "rss_mb")
    versions = []
    for pkg in ("dialed", "optuna", "numpy", "scipy"):
        try:
            versions.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{pkg} (not installed)")
    lines = [
        "# The default sampler's cost and the process's memory: dialed vs Optuna",
        "",
        f"- command: `{command}`",
        f"- date: {dt.date.today().isoformat()}; took {(time.perf_counter() - start) / 60:.1f} "
        f"min; {rounds} rounds, medians; each figure from a fresh subprocess",
        "- machine: 2 CPU cores shared with other work (timings are indicative), "
        f"{platform.platform()}, Python {platform.python_version()}; one thread everywhere",
        f"- packages: {', '.join(versions)}",
        f"- what is measured: see `benchmarks/overhead/extra.py`; peak RSS at {MEMORY_TRIALS:,} "
        f"trials = {MEMORY_TRIALS - tpe_trials:,} prefilled through each library's bulk API + "
        f"{tpe_trials} run by `optimize` with TPE",
        "",
        "## Targets",
        "",
        f"- **{_verdict(d_cpu <= 2 * o_cpu)}**: dialed's default sampler (`auto`), "
        f"{DEFAULT_TRIALS} trivial trials in memory, CPU at most 2x Optuna's default "
        f"(`TPESampler`): {d_cpu:.2f} s vs {o_cpu:.2f} s (ratio {d_cpu / o_cpu:.1f}x; wall "
        f"{d_wall:.2f} s vs {o_wall:.2f} s)",
        f"- **{_verdict(i_d <= i_o)}**: RSS after `import dialed` at most after `import "
        f"optuna`: {i_d:.0f} MB vs {i_o:.0f} MB (ratio {i_d / i_o:.2f}; the bare interpreter: "
        f"{i_py:.0f} MB)",
        f"- **{_verdict(m_d <= m_o)}**: peak RSS of {MEMORY_TRIALS:,} TPE trials in memory at "
        f"most Optuna's: {m_d:.0f} MB vs {m_o:.0f} MB (ratio {m_d / m_o:.2f})",
        "",
        "## Every round",
        "",
        "| round | default CPU s: dialed | Optuna | import RSS MB: python | dialed | Optuna | "
        f"{MEMORY_TRIALS} TPE peak RSS MB: dialed | Optuna |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in range(rounds):
        lines.append(
            f"| {r + 1} | {default['dialed'][r]['cpu_s']:.2f} | "
            f"{default['optuna'][r]['cpu_s']:.2f} | {imports['python'][r]:.0f} | "
            f"{imports['dialed'][r]:.0f} | {imports['optuna'][r]:.0f} | "
            f"{memory['dialed'][r]['rss_mb']:.0f} | {memory['optuna'][r]['rss_mb']:.0f} |")
    text = "\n".join(lines) + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return text
