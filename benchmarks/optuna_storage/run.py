"""Optuna's storage overhead: DialedStorage beside RDBStorage (SQLite) and JournalStorage.

One Optuna study per storage and round: Optuna's ``TPESampler`` (the same seed for every
storage in a round), two float parameters, a trivial objective, ``n`` trials through
``study.optimize``; each storage a fresh file in a temporary folder. Rounds interleave the
storages (round 1: dialed, RDB, journal; round 2: ...), so a burst of load on a shared machine
falls on all of them alike. The per-trial time of a run is its total time over ``n``, as CPU
time of this process (user + system) and as wall time (which holds the disk syncs); the report
gives the median over rounds. Optuna's logging is at WARNING for all.

Targets (issue 18, part 4): DialedStorage's per-trial time at most 1/3 of RDBStorage's, and
below JournalStorage's; judged on CPU time and on wall time.

    PYTHONPATH=src python -m benchmarks.optuna_storage.run            # 1,000 trials, 3 rounds
    PYTHONPATH=src python -m benchmarks.optuna_storage.run --quick    # 300 trials, 2 rounds
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent.parent / "results"
ROOT = Path(__file__).resolve().parents[2]
for _path in (ROOT, ROOT / "src"):  # run as a script too
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import optuna  # noqa: E402
from optuna.storages import JournalStorage, RDBStorage  # noqa: E402
from optuna.storages.journal import JournalFileBackend  # noqa: E402

from dialed.integrations.optuna import DialedStorage  # noqa: E402

STORAGES: dict[str, Callable[[Path], Any]] = {
    "DialedStorage (SQLite)": lambda d: DialedStorage(f"sqlite:///{d / 'dialed.db'}"),
    "RDBStorage (SQLite)": lambda d: RDBStorage(f"sqlite:///{d / 'rdb.db'}"),
    "JournalStorage (file)": lambda d: JournalStorage(JournalFileBackend(str(d / "journal.log"))),
}


def objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -5.0, 5.0)
    y = trial.suggest_float("y", -5.0, 5.0)
    return (x - 1.0) ** 2 + y * y


def run_one(make: Callable[[Path], Any], n: int, seed: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per trial of one study of ``n`` trials."""
    with tempfile.TemporaryDirectory(prefix="optuna-storage-") as folder:
        storage = make(Path(folder))
        study = optuna.create_study(storage=storage,
                                    sampler=optuna.samplers.TPESampler(seed=seed))
        t0, c0 = time.perf_counter(), _cpu()
        study.optimize(objective, n_trials=n)
        wall, cpu = time.perf_counter() - t0, _cpu() - c0
        if len(study.trials) != n:
            raise RuntimeError(f"the study holds {len(study.trials)} trials, not {n}")
        if hasattr(storage, "close"):
            storage.close()
    return cpu / n * 1000, wall / n * 1000


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 trials, 2 rounds")
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args(argv)
    n = args.trials or (300 if args.quick else 1000)
    rounds = args.rounds or (2 if args.quick else 3)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    started = time.perf_counter()
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in STORAGES}
    for r in range(rounds):
        for name, make in STORAGES.items():
            runs[name].append(run_one(make, n, seed=r))
            cpu, wall = runs[name][-1]
            print(f"round {r + 1}/{rounds} {name}: {cpu:.2f} ms CPU, {wall:.2f} ms wall "
                  "per trial", flush=True)
    med = {name: (statistics.median(c for c, _ in v), statistics.median(w for _, w in v))
           for name, v in runs.items()}
    command = "PYTHONPATH=src python -m benchmarks.optuna_storage.run" + (
        " --quick" if args.quick else "") + (
        f" --trials {args.trials}" if args.trials else "") + (
        f" --rounds {args.rounds}" if args.rounds else "")
    text = report(med, runs, n, rounds, command, time.perf_counter() - started)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "optuna-storage.md").write_text(text)
    print(text)
    return 0


def report(med: dict[str, tuple[float, float]], runs: dict[str, list[tuple[float, float]]],
           n: int, rounds: int, command: str, took: float) -> str:
    d, rdb, jr = (med[k] for k in STORAGES)
    lines = [
        "# Optuna storage overhead: DialedStorage vs RDBStorage vs JournalStorage", "",
        f"- command: `{command}`",
        f"- date: {dt.date.today().isoformat()}; took {took / 60:.1f} min",
        f"- machine: {os.cpu_count()} CPU cores shared with other work (timings are "
        f"indicative), {platform.platform()}, Python {platform.python_version()}",
        f"- packages: dialed {_version('dialed')}, optuna {_version('optuna')}, "
        f"SQLAlchemy {_version('SQLAlchemy')}",
        f"- Optuna TPESampler (seed = round), 2 float parameters, trivial objective, {n} trials "
        f"per study via `study.optimize`, {rounds} rounds interleaved (each storage once per "
        "round, a fresh file each time); per-trial time = total / trials, as CPU time of the "
        "process (user + system) and wall time (with the disk syncs); medians over rounds.",
        "", "## Targets", "",
    ]
    for what, i in (("CPU", 0), ("wall", 1)):
        ok = d[i] <= rdb[i] / 3
        lines.append(f"- **{'PASS' if ok else 'FAIL'}**: DialedStorage per-trial {what} time "
                     f"at most 1/3 of RDBStorage's: {d[i]:.2f} ms vs {rdb[i]:.2f} ms "
                     f"(ratio {d[i] / rdb[i]:.2f}, target <= 0.33)")
        ok = d[i] < jr[i]
        lines.append(f"- **{'PASS' if ok else 'FAIL'}**: DialedStorage per-trial {what} time "
                     f"below JournalStorage's: {d[i]:.2f} ms vs {jr[i]:.2f} ms "
                     f"(ratio {d[i] / jr[i]:.2f}, target < 1)")
    lines += ["", "## Per-trial time (ms, median over rounds)", "",
              "| storage | CPU | wall | CPU per round | wall per round |",
              "|---|---:|---:|---|---|"]
    for name, (cpu, wall) in med.items():
        per_cpu = ", ".join(f"{c:.2f}" for c, _ in runs[name])
        per_wall = ", ".join(f"{w:.2f}" for _, w in runs[name])
        lines.append(f"| {name} | {cpu:.2f} | {wall:.2f} | {per_cpu} | {per_wall} |")
    lines += ["", "The CPU time includes TPESampler's own work, the same for every storage.",
              ""]
    return "\n".join(lines)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


if __name__ == "__main__":
    raise SystemExit(main())
