"""Start-up cost: ``import dialed`` and ``dialed --help`` against Optuna's equivalents.

Every command runs in a fresh interpreter, dialed's and Optuna's interleaved run by run, so
both see the same machine; the report gives the minimum (the cost without interference) and
the median of the wall times, and the peak resident memory of the importing process.

    PYTHONPATH=src python -m benchmarks.startup.run [--runs 10]

Writes benchmarks/results/startup.md with each target's PASS or FAIL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for _path in (ROOT, ROOT / "src"):  # run as a script too: python benchmarks/startup/run.py
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from benchmarks._bytecode import compile_src  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"

#: (what, dialed's command, Optuna's command)
PAIRS = [
    ("import", [sys.executable, "-c", "import dialed"], [sys.executable, "-c", "import optuna"]),
    ("--help", [sys.executable, "-m", "dialed.cli", "--help"],
     [shutil.which("optuna") or "optuna", "--help"]),
    # No target: `import dialed` defers a study's machinery (the samplers, the pruners, NumPy)
    # to the first study, and the samplers SciPy to their first fit, so this row shows what a
    # script that runs one trial pays in all.
    ("first trial", [sys.executable, "-c", "import dialed\ns = dialed.create_study()\n"
                     "s.optimize(lambda t: t.suggest_float('x', 0, 1), n_trials=1)"],
     [sys.executable, "-c", "import optuna\noptuna.logging.set_verbosity(optuna.logging.ERROR)"
                            "\ns = optuna.create_study()\n"
                            "s.optimize(lambda t: t.suggest_float('x', 0, 1), n_trials=1)"]),
]
#: The rows with a target: no slower than Optuna's.
TARGETS = {"import": "import dialed", "--help": "dialed --help"}


def _run(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds of one run and the child's peak RSS in MB."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(after, before) / 1024.0


def _rss(code: str) -> float:
    """Peak RSS (MB) of a fresh interpreter that runs ``code``."""
    probe = (f"{code}\nimport resource\n"
             "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                          text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--out", type=Path, default=RESULTS / "startup.md")
    args = ap.parse_args()
    compile_src()
    import optuna

    import dialed

    times: dict[tuple[str, str], list[float]] = {}
    for what, mine, theirs in PAIRS:
        for _ in range(args.runs):
            for who, cmd in (("dialed", mine), ("optuna", theirs)):
                times.setdefault((what, who), []).append(_run(cmd)[0])
    rss = {who: statistics.median(_rss(f"import {who}") for _ in range(3))
           for who in ("dialed", "optuna")}
    lines = [
        "# Start-up: `import dialed` and `dialed --help` against Optuna",
        "",
        f"- command: `PYTHONPATH=src python -m benchmarks.startup.run --runs {args.runs}`",
        f"- date: {dt.date.today().isoformat()}; machine: {os.cpu_count()} CPU cores shared with "
        f"other work, {platform.platform()}, Python {platform.python_version()}",
        f"- packages: dialed {dialed.__version__}, optuna {optuna.__version__}",
        f"- each command in a fresh interpreter, {args.runs} runs each, dialed's and Optuna's "
        "interleaved; wall seconds (min = the cost without interference; median); dialed's "
        "modules byte-compiled first, as `pip install` compiles Optuna's "
        "(`benchmarks/_bytecode.py`)",
        "",
        "## Targets",
        "",
    ]
    rows = []
    for what, _, _ in PAIRS:
        d, o = times[(what, "dialed")], times[(what, "optuna")]
        if what in TARGETS:
            verdict = "PASS" if min(d) <= min(o) else "FAIL"
            lines.append(f"- **{verdict}**: `{TARGETS[what]}`"
                         f" no slower than Optuna's (min of {args.runs}): {min(d):.3f} s vs "
                         f"{min(o):.3f} s (ratio {min(d) / min(o):.2f})")
        rows.append(f"| {what} | {min(d):.3f} | {statistics.median(d):.3f} | {min(o):.3f} | "
                    f"{statistics.median(o):.3f} | {min(d) / min(o):.2f} |")
    lines += [
        "",
        "## Times",
        "",
        "| what | dialed min | dialed median | Optuna min | Optuna median | ratio of mins |",
        "|---|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Peak RSS after the import (median of 3): dialed {rss['dialed']:.0f} MB, Optuna "
        f"{rss['optuna']:.0f} MB.",
        "",
        "`first trial` has no target: `import dialed` leaves a study's machinery (the "
        "samplers, the pruners, NumPy) to the first study, so that row is what a script "
        "running one trial of each library's default pays in all.",
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
