"""The engine's fixed cost beside Optuna's (issue 23): the loop, storage and history per trial.

Each measurement runs in a fresh Python subprocess (one BLAS thread), dialed's and Optuna's
alternating round by round so a burst of load on a shared machine falls on both alike; the
report gives medians over rounds, and judges a ratio target on the median of the rounds'
ratios (each round pairs the two libraries).

* **Random sampler, 1,000 trials in memory**: ``create_study(sampler=random, seed=0)`` with no
  storage, then ``optimize`` of a trivial objective over 5 floats in [-5, 5]. CPU seconds of the
  ``optimize`` call (``time.process_time``). Target: dialed at most Optuna's RandomSampler.
* **Random sampler, 1,000 trials on disk**: the same on dialed's default storage (an SQLite
  file, WAL) against Optuna's JournalStorage file (its fastest durable storage). Target: dialed
  below Optuna.
* **Two workers, 20 ms objective** (``time.sleep(0.02)``): trials per second over 200 trials
  on one study file, dialed ``optimize(n_jobs=2)`` on SQLite against two Optuna processes on one
  JournalStorage file, each library's TPE, then each library's default sampler (dialed's
  ``auto``). Wall clock from the first process start to the last trial. Target: dialed at least
  Optuna's throughput.

* **Listings**: ``dialed trials STUDY --limit 0`` on 20,000 trials (SQLite) against
  ``optuna trials`` on the same number (JournalStorage file: Optuna's RDB storage takes minutes
  to fill), wall and CPU seconds of the command (``os.wait4``), output to a file; and
  ``dialed trials STUDY --limit 10`` on studies of 1,000 and 100,000 trials. The studies are
  written once, through each library's bulk API. Targets: the full listing at or below
  Optuna's; ``--limit 10`` on 100,000 trials under 0.5 s of the command's own work (CPU), as
  on 1,000. Beside them, the floor under any such command: a fresh interpreter that imports
  only the libraries a listing cannot do without (Typer with its pydantic coercion, Rich,
  SQLAlchemy) and does nothing; and a Typer command with the arguments of ``dialed trials``
  that imports the same and does nothing (Typer builds a pydantic adapter for each argument
  when a command runs).

dialed's modules are byte-compiled before the first measurement, as ``pip install`` compiles
Optuna's (``benchmarks/_bytecode.py``).

    PYTHONPATH=src python -m benchmarks.overhead.engine [--rounds 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
for _path in (ROOT, ROOT / "src"):  # run as a script too: python benchmarks/overhead/engine.py
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from benchmarks._bytecode import compile_src  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
TRIALS = 1000
PARALLEL_TRIALS = 200
SLEEP = 0.02

_PRELUDE = """
import json, os, sys, time
for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[v] = "1"
def objective(trial):
    return sum(trial.suggest_float(f"x{i}", -5.0, 5.0) ** 2 for i in range(5))
def slow(trial):
    time.sleep(%(sleep)r)
    return objective(trial)
"""

_DIALED = """
import dialed
storage = %(storage)r
study = dialed.create_study("bench", storage=storage, sampler=%(sampler)r, seed=0)
t = time.process_time()
study.optimize(objective, n_trials=%(n)d)
print(json.dumps({"cpu": time.process_time() - t}))
"""

_OPTUNA = """
import optuna
optuna.logging.set_verbosity(optuna.logging.ERROR)
storage = %(storage)r
if storage is not None:
    from optuna.storages.journal import JournalFileBackend
    storage = optuna.storages.JournalStorage(JournalFileBackend(storage))
study = optuna.create_study(storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
t = time.process_time()
study.optimize(objective, n_trials=%(n)d)
print(json.dumps({"cpu": time.process_time() - t}))
"""

_DIALED_PARALLEL = """
import dialed
study = dialed.create_study("bench", storage=%(storage)r, sampler=%(sampler)r, seed=0)
study.optimize(slow, n_trials=%(n)d, n_jobs=2)
"""

_OPTUNA_WORKER = """
import optuna
from optuna.storages.journal import JournalFileBackend
optuna.logging.set_verbosity(optuna.logging.ERROR)
storage = optuna.storages.JournalStorage(JournalFileBackend(%(storage)r))
sampler = optuna.samplers.TPESampler(seed=%(seed)d)
study = optuna.create_study(study_name="bench", storage=storage, sampler=sampler,
                            load_if_exists=True)
study.optimize(slow, n_trials=%(n)d)
"""


def _run(code: str, **values: Any) -> dict[str, Any]:
    script = (_PRELUDE % {"sleep": SLEEP}) + (code % values)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, check=True, timeout=1800)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def _parallel_dialed(folder: Path, sampler: str) -> float:
    url = f"sqlite:///{folder / 'dialed.db'}"
    start = time.perf_counter()
    _run(_DIALED_PARALLEL, storage=url, sampler=sampler, n=PARALLEL_TRIALS)
    return PARALLEL_TRIALS / (time.perf_counter() - start)


def _parallel_optuna(folder: Path) -> float:
    path = str(folder / "optuna.log")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    # the study is created by the first worker (load_if_exists): start it a moment first
    start = time.perf_counter()
    procs = []
    for seed in (0, 1):
        script = (_PRELUDE % {"sleep": SLEEP}) + (
            _OPTUNA_WORKER % {"storage": path, "seed": seed, "n": PARALLEL_TRIALS // 2})
        procs.append(subprocess.Popen([sys.executable, "-c", script], env=env))
        time.sleep(0.5 if seed == 0 else 0.0)
    for p in procs:
        if p.wait(timeout=1800) != 0:
            raise RuntimeError("an Optuna worker failed")
    return PARALLEL_TRIALS / (time.perf_counter() - start)


_FILL_DIALED = """
import random
from dialed.storage import open_storage
from dialed.trial import TrialRecord, TrialState
rng = random.Random(0)
store = open_storage(%(url)r)
records = [TrialRecord(0, 0, 0, TrialState.COMPLETE, 0,
                       params={f"x{i}": rng.uniform(-5, 5) for i in range(5)},
                       metrics={"value": rng.random()}, started_at=1e9 + n,
                       finished_at=1e9 + n + 0.5, wall_seconds=0.5) for n in range(%(n)d)]
store.import_trials("big", records, space={f"x{i}": {"type": "float", "low": -5, "high": 5}
                                           for i in range(5)},
                    create={"metrics": {"value": "minimize"}, "seed": 0})
"""

_FILL_OPTUNA = """
import random
import optuna
from optuna.storages.journal import JournalFileBackend
optuna.logging.set_verbosity(optuna.logging.ERROR)
rng = random.Random(0)
storage = optuna.storages.JournalStorage(JournalFileBackend(%(path)r))
study = optuna.create_study(study_name="big", storage=storage)
dist = {f"x{i}": optuna.distributions.FloatDistribution(-5, 5) for i in range(5)}
study.add_trials([optuna.trial.create_trial(
    params={f"x{i}": rng.uniform(-5, 5) for i in range(5)}, distributions=dist,
    value=rng.random()) for _ in range(%(n)d)])
"""


#: What any listing command imports before it reads a row: the command line (Typer, which
#: coerces every option through pydantic), the tables (Rich) and the SQL layer (SQLAlchemy).
_FLOOR = "import typer, typer._adapters, rich.console, rich.table, sqlalchemy"
# A Typer command with the arguments of ``dialed trials`` that imports what a listing needs and
# does nothing: Typer builds a pydantic adapter per argument when a command runs.
_FLOOR_COMMAND = """
from typing import Annotated
import typer
app = typer.Typer()
@app.callback()
def main(ctx: typer.Context, storage: Annotated[str | None, typer.Option("--storage")] = None,
         debug: Annotated[bool, typer.Option("--debug")] = False) -> None:
    pass
@app.command("trials")
def trials(ctx: typer.Context, study: Annotated[str, typer.Argument()],
           state: Annotated[str | None, typer.Option("--state")] = None,
           limit: Annotated[int, typer.Option("--limit", min=0)] = 50,
           storage: Annotated[str | None, typer.Option("--storage")] = None) -> None:
    import rich.console, rich.table, sqlalchemy
app()
"""


def _command(argv: list[str], out: Path) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, of the child) of one command, stdout to ``out``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "200"}
    start = time.perf_counter()
    with out.open("w") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(argv)} failed")
    return wall, usage.ru_utime + usage.ru_stime


def _listings(folder: Path, rounds: int, rows: dict[str, list[float]]) -> None:
    dialed_bin = str(Path(sys.executable).with_name("dialed"))
    optuna_bin = str(Path(sys.executable).with_name("optuna"))
    urls = {n: f"sqlite:///{folder / f'd{n}.db'}" for n in (1000, 20000, 100000)}
    for n, url in urls.items():
        _run(_FILL_DIALED, url=url, n=n)
    journal = str(folder / "optuna.log")
    _run(_FILL_OPTUNA, path=journal, n=20000)
    out = folder / "listing.txt"
    for _ in range(rounds):
        for key, argv in (
            ("list dialed", [dialed_bin, "trials", "big", "--storage", urls[20000],
                             "--limit", "0"]),
            ("list optuna", [optuna_bin, "trials", "--storage", journal, "--storage-class",
                             "JournalFileBackend", "--study-name", "big"]),
            ("limit10 1k", [dialed_bin, "trials", "big", "--storage", urls[1000],
                            "--limit", "10"]),
            ("limit10 100k", [dialed_bin, "trials", "big", "--storage", urls[100000],
                              "--limit", "10"]),
            ("floor imports", [sys.executable, "-c", _FLOOR]),
            ("floor command", [sys.executable, "-c", _FLOOR_COMMAND, "trials", "big",
                               "--storage", urls[1000], "--limit", "10"]),
        ):
            wall, cpu = _command(argv, out)
            rows.setdefault(f"{key} wall", []).append(wall)
            rows.setdefault(f"{key} cpu", []).append(cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", type=Path, default=RESULTS / "overhead-engine.md")
    ap.add_argument("--no-listings", action="store_true",
                    help="leave out the listings (they fill a 100,000-trial study and an "
                         "Optuna journal of 20,000: minutes)")
    args = ap.parse_args()
    compile_src()  # as `pip install` compiles Optuna's: no fresh worker compiles dialed again
    began, t0 = dt.datetime.now(dt.timezone.utc), time.perf_counter()
    load0 = os.getloadavg()[0]
    rows: dict[str, list[float]] = {k: [] for k in (
        "mem dialed", "mem optuna", "disk dialed", "disk optuna",
        "par tpe dialed", "par tpe optuna", "par default dialed", "par default optuna")}
    for r in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            rows["mem dialed"].append(_run(_DIALED, storage=None, sampler="random",
                                           n=TRIALS)["cpu"])
            rows["mem optuna"].append(_run(_OPTUNA, storage=None, n=TRIALS)["cpu"])
            rows["disk dialed"].append(_run(_DIALED, storage=f"sqlite:///{folder / 'd.db'}",
                                            sampler="random", n=TRIALS)["cpu"])
            rows["disk optuna"].append(_run(_OPTUNA, storage=str(folder / "o.log"),
                                            n=TRIALS)["cpu"])
        for kind, sampler in (("tpe", "tpe"), ("default", "auto")):
            with tempfile.TemporaryDirectory() as tmp:
                rows[f"par {kind} dialed"].append(_parallel_dialed(Path(tmp), sampler))
            with tempfile.TemporaryDirectory() as tmp:  # Optuna's default is its TPE
                rows[f"par {kind} optuna"].append(_parallel_optuna(Path(tmp)))
        print(f"round {r + 1}/{args.rounds}: " + ", ".join(
            f"{k} {v[-1]:.3g}" for k, v in rows.items()), flush=True)
    listing: dict[str, list[float]] = {}
    if not args.no_listings:
        with tempfile.TemporaryDirectory() as tmp:
            _listings(Path(tmp), args.rounds, listing)
    med = {k: statistics.median(v) for k, v in rows.items()}
    lmed = {k: statistics.median(v) for k, v in listing.items()}
    took = time.perf_counter() - t0
    _write(args, rows, med, listing, lmed, began, took, load0, os.getloadavg()[0])


def _verdict(ok: bool) -> str:
    return "**PASS**" if ok else "**FAIL**"


def _write(args: argparse.Namespace, rows: dict[str, list[float]], med: dict[str, float],
           listing: dict[str, list[float]], lmed: dict[str, float],
           began: dt.datetime, took: float, load0: float, load1: float) -> None:
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("optuna", "numpy", "SQLAlchemy"))
    ms = {k: v / TRIALS * 1000 for k, v in med.items() if not k.startswith("par")}
    # Each round runs the two libraries one after the other, so the rounds pair them: a verdict
    # is on the median of the per-round ratios; the ratio of the medians is shown too.
    paired = {k: statistics.median(d / o for d, o in zip(rows[f"{k} dialed"],
                                                         rows[f"{k} optuna"], strict=True))
              for k in ("mem", "disk", "par tpe", "par default")}

    def ratios(key: str) -> str:
        return (f"median of the {args.rounds} rounds' ratios {paired[key]:.2f}, ratio of the "
                f"medians {med[f'{key} dialed'] / med[f'{key} optuna']:.2f}")

    targets = [
        (paired["mem"] <= 1.0,
         f"random sampler, {TRIALS:,} trials in memory, CPU per trial at most Optuna's: "
         f"{ms['mem dialed']:.3f} ms vs {ms['mem optuna']:.3f} ms ({ratios('mem')})"),
        (paired["disk"] < 1.0,
         f"random sampler, {TRIALS:,} trials on disk, CPU per trial below Optuna's "
         f"JournalStorage: {ms['disk dialed']:.3f} ms (SQLite) vs {ms['disk optuna']:.3f} ms "
         f"({ratios('disk')})"),
        (paired["par tpe"] >= 1.0,
         f"two workers, TPE, {SLEEP * 1000:.0f} ms objective: {med['par tpe dialed']:.1f} vs "
         f"{med['par tpe optuna']:.1f} trials/s ({ratios('par tpe')}, target >= 1)"),
        (paired["par default"] >= 1.0,
         f"two workers, each library's default sampler (dialed auto, Optuna TPE): "
         f"{med['par default dialed']:.1f} vs {med['par default optuna']:.1f} trials/s "
         f"({ratios('par default')}, target >= 1)"),
    ]
    if lmed:
        targets += [
            (lmed["list dialed wall"] <= lmed["list optuna wall"],
             f"the full listing of 20,000 trials at or below Optuna's: dialed trials --limit 0 "
             f"{lmed['list dialed wall']:.2f} s wall ({lmed['list dialed cpu']:.2f} s CPU) vs "
             f"optuna trials {lmed['list optuna wall']:.2f} s ({lmed['list optuna cpu']:.2f} "
             f"s CPU), ratio {lmed['list dialed wall'] / lmed['list optuna wall']:.2f}"),
            (lmed["limit10 100k cpu"] < 0.5,
             f"dialed trials --limit 10 on 100,000 trials under 0.5 s CPU: "
             f"{lmed['limit10 100k cpu']:.2f} s ({lmed['limit10 100k wall']:.2f} s wall) vs "
             f"{lmed['limit10 1k cpu']:.2f} s ({lmed['limit10 1k wall']:.2f} s wall) on 1,000; "
             f"the floor, importing Typer, Rich and SQLAlchemy and nothing else: "
             f"{lmed['floor imports cpu']:.2f} s CPU; a Typer command with the same "
             f"arguments that imports them and does nothing: "
             f"{lmed['floor command cpu']:.2f} s CPU"),
        ]
    lines = [
        "# The engine's fixed cost: dialed vs Optuna",
        "",
        f"- command: `PYTHONPATH=src python -m benchmarks.overhead.engine --rounds {args.rounds}`",
        f"- date: {began:%Y-%m-%d %H:%M} UTC; took {took / 60:.1f} min; {args.rounds} rounds "
        "(dialed and Optuna alternating), medians; each figure from a fresh subprocess",
        f"- machine: {os.cpu_count()} CPU cores shared with other work (load average "
        f"{load0:.1f} before, {load1:.1f} after: CPU-time ratios hold, wall times and "
        f"throughputs are indicative), {platform.platform()}, Python {platform.python_version()}",
        f"- packages: dialed (this checkout), {versions}",
        "- what is measured: see the docstring of `benchmarks/overhead/engine.py`",
        "",
        "## Targets",
        "",
        *[f"- {_verdict(ok)}: {text}" for ok, text in targets],
        "",
        "## Every round",
        "",
        "| round | " + " | ".join(rows) + " |",
        "|---:|" + "---:|" * len(rows),
    ]
    for r in range(args.rounds):
        lines.append(f"| {r + 1} | " + " | ".join(f"{v[r]:.3g}" for v in rows.values()) + " |")
    lines += ["", "Memory and disk columns are CPU seconds of 1,000 trials; the `par` columns "
              "are trials per second (wall)."]
    if listing:
        lines += ["", "## Listings (seconds per command, every round)", "",
                  "| command | " + " | ".join(f"round {r + 1}" for r in range(args.rounds))
                  + " |", "|---|" + "---:|" * args.rounds]
        for key, values in listing.items():
            lines.append(f"| {key} | " + " | ".join(f"{v:.2f}" for v in values) + " |")
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
