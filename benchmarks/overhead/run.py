"""Per-suggestion overhead: dialed's samplers beside Optuna's, at a given number of finished trials.

For each backend (in memory, SQLite in a temporary file), each history size N and each pair of
samplers (dialed ``random``/``sobol``/``tpe``/``gp``/``cmaes`` beside Optuna's
``RandomSampler``/``QMCSampler``/``TPESampler``/``GPSampler``/``CmaEsSampler``):

1. a study of 5 float parameters is prefilled with N finished trials of uniform random
   parameters (dialed: written through its ``Storage`` contract; Optuna: ``add_trials``), not
   timed; an SQLite study is prefilled once per N and copied for every sampler;
2. dialed's study and Optuna's are opened with the samplers under test; one ask+tell cycle of
   each warms them up (caches, imports) and is not timed;
3. ``reps`` rounds, each one ask+tell cycle of dialed then one of Optuna with a trivial
   objective, are timed (interleaved, so a burst of load on a shared machine falls on both
   libraries alike rather than on whichever ran then); the report gives the median time
   of the suggestion (dialed: ``Study.ask`` + ``suggest_space``; Optuna: ``Study.ask`` with the
   distributions) and of the whole trial (suggestion + tell), in milliseconds, as CPU time of
   this process and as wall time. The targets are judged on CPU time: on a shared machine a
   cycle that waits for a core grows in wall time only (the ratio of wall times at 1,000
   trials moved between 0.16 and 0.35 from run to run), and with one thread everywhere the CPU
   time is the work done. The wall time also holds the disk syncs of the SQLite backend.

Every library runs single-threaded (BLAS, OpenMP and torch), in this one process.

    PYTHONPATH=src python -m benchmarks.overhead.run --quick   # sizes 100, 1000
    PYTHONPATH=src python -m benchmarks.overhead.run           # sizes 100, 1000, 5000
    PYTHONPATH=src python -m benchmarks.overhead.run --only extra   # extra.py alone

``--only extra`` runs only the measurements of ``extra.py`` (the default sampler's cost over
200 trials, RSS after import, peak RSS of 5,000 TPE trials; ``results/overhead-extra.md``);
``--only tables`` only the tables above; the default runs both.

Both take the median of 20 cycles (the GP of 5): with 5, one burst of load on a shared
machine moved the TPE ratio at 1,000 trials between 0.1 and 0.8.

GP runs at 100, 200 and 1,000 trials only: an exact GP refits an N x N kernel per suggestion,
and at 5,000 trials a single Optuna GPSampler suggestion takes minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent.parent / "results"
ROOT = Path(__file__).resolve().parents[2]
for _path in (ROOT, ROOT / "src"):  # run as a script too: python benchmarks/.../run.py
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
N_PARAMS = 5
LOW, HIGH = -5.0, 5.0
#: (dialed sampler, Optuna sampler class): the counterparts compared.
PAIRS = (
    ("random", "RandomSampler"),
    ("sobol", "QMCSampler"),
    ("tpe", "TPESampler"),
    ("gp", "GPSampler"),
    ("cmaes", "CmaEsSampler"),
)
GP_SIZES = (100, 200, 1000)
GP_MAX_REPS = 5
SEED = 0


@dataclass(frozen=True)
class Cost:
    """Median milliseconds of one side's cycles: the suggestion and the whole trial."""

    ask_ms: float
    trial_ms: float
    ask_cpu_ms: float
    trial_cpu_ms: float


@dataclass
class Timing:
    backend: str
    n: int
    dialed: str
    optuna: str
    dialed_cost: Cost | None
    optuna_cost: Cost | None
    note: str = ""


#: One timed cycle: (suggest wall, trial wall, suggest CPU, trial CPU) in seconds.
Cycle = Callable[[], tuple[float, float, float, float]]


def objective(params: dict[str, float]) -> float:
    return sum((v - 1.0) ** 2 for v in params.values())


# -- dialed ----------------------------------------------------------------------------------
def dialed_space() -> Any:
    import dialed

    return dialed.Space({f"x{i}": {"type": "float", "low": LOW, "high": HIGH}
                         for i in range(N_PARAMS)})


def dialed_prefill(storage: Any, name: str, n: int) -> None:
    """N finished trials of uniform random parameters, written straight to the storage (the
    ``Storage`` contract: create a running trial, finish it complete) without a sampler."""
    import numpy as np

    import dialed
    from dialed.trial import TrialState

    rng = np.random.default_rng(SEED)
    study = dialed.create_study(name, storage=storage, direction="minimize", sampler="random",
                                seed=SEED, space=dialed_space())
    store = study.storage
    for _ in range(n):
        params = {f"x{i}": float(rng.uniform(LOW, HIGH)) for i in range(N_PARAMS)}
        record = store.create_trial(study.study_id, params=params, worker="prefill")
        store.finish_trial(record.trial_id, TrialState.COMPLETE,
                           metrics=study.metrics.values_from(objective(params)))


def dialed_cycle(storage: Any, name: str, sampler: str) -> Cycle:
    """One ask+tell cycle of a dialed study with ``sampler`` per call."""
    import dialed

    space = dialed_space()
    study = dialed.load_study(name, storage=storage, sampler=sampler)

    def cycle() -> tuple[float, float, float, float]:
        t0, c0 = time.perf_counter(), time.process_time()
        trial = study.ask()
        params = trial.suggest_space(space)
        t1, c1 = time.perf_counter(), time.process_time()
        study.tell(trial, objective(params))
        return t1 - t0, time.perf_counter() - t0, c1 - c0, time.process_time() - c0

    return cycle


# -- Optuna ----------------------------------------------------------------------------------
def optuna_dists() -> dict[str, Any]:
    from optuna.distributions import FloatDistribution

    return {f"x{i}": FloatDistribution(LOW, HIGH) for i in range(N_PARAMS)}


def optuna_prefill(storage: Any, name: str, n: int) -> None:
    import numpy as np
    import optuna

    rng = np.random.default_rng(SEED)
    dists = optuna_dists()
    study = optuna.create_study(study_name=name, storage=storage, direction="minimize")
    frozen = []
    for _ in range(n):
        params = {k: float(rng.uniform(LOW, HIGH)) for k in dists}
        frozen.append(optuna.trial.create_trial(params=params, distributions=dists,
                                                value=objective(params)))
    study.add_trials(frozen)


def optuna_cycle(storage: Any, name: str, sampler: str) -> Cycle:
    """One ask+tell cycle of an Optuna study with ``sampler`` per call."""
    import optuna

    sampler_obj = getattr(optuna.samplers, sampler)(seed=SEED)
    study = optuna.load_study(study_name=name, storage=storage, sampler=sampler_obj)
    dists = optuna_dists()

    def cycle() -> tuple[float, float, float, float]:
        t0, c0 = time.perf_counter(), time.process_time()
        trial = study.ask(dists)
        t1, c1 = time.perf_counter(), time.process_time()
        study.tell(trial, objective(trial.params))
        return t1 - t0, time.perf_counter() - t0, c1 - c0, time.process_time() - c0

    return cycle


def interleaved(cycles: Sequence[Cycle], reps: int) -> list[Cost]:
    """The median costs of each cycle over ``reps`` rounds, after one warm-up round; each round
    runs every cycle once, so a burst of load on a shared machine falls on all of them alike."""
    times: list[list[tuple[float, float, float, float]]] = [[] for _ in cycles]
    for i in range(reps + 1):
        for mine, cycle in zip(times, cycles, strict=True):
            took = cycle()
            if i:  # the first round warms up (caches, imports)
                mine.append(took)
    return [Cost(*(1000 * statistics.median(c[k] for c in t) for k in range(4))) for t in times]


# -- backends --------------------------------------------------------------------------------
class Backend:
    """Hands out a prefilled study per (library, N): fresh in memory, copied from a template
    file on SQLite."""

    def __init__(self, kind: str, workdir: Path) -> None:
        self.kind = kind
        self.workdir = workdir
        self._count = 0

    def study(self, library: str, n: int) -> tuple[Any, str]:
        """A storage (object or URL) holding a study named by the return value, prefilled."""
        prefill = dialed_prefill if library == "dialed" else optuna_prefill
        if self.kind == "memory":
            storage = _memory_storage(library)
            prefill(storage, "bench", n)
            return storage, "bench"
        template = self.workdir / f"{library}-{n}.db"
        if not template.exists():
            url = f"sqlite:///{template}"
            storage = _sql_storage(library, url)
            prefill(storage, "bench", n)
            _close(library, storage)
        self._count += 1
        copy = self.workdir / f"{library}-{n}-{self._count}.db"
        shutil.copyfile(template, copy)
        return _sql_storage(library, f"sqlite:///{copy}"), "bench"


def _memory_storage(library: str) -> Any:
    if library == "dialed":
        from dialed.storage import open_storage

        return open_storage("memory")
    import optuna

    return optuna.storages.InMemoryStorage()


def _sql_storage(library: str, url: str) -> Any:
    if library == "dialed":
        from dialed.storage import open_storage

        return open_storage(url)
    import optuna

    return optuna.storages.RDBStorage(url)


def _close(library: str, storage: Any) -> None:
    if library == "dialed":
        storage.close()
    else:
        storage.engine.dispose()


# -- the run ---------------------------------------------------------------------------------
def available(sampler: str) -> str | None:
    from dialed.samplers import make_sampler

    try:
        make_sampler(sampler)
    except Exception as exc:  # an unregistered sampler
        return f"dialed {sampler!r} is not available ({exc})"
    return None


def measure(backend: Backend, n: int, pair: tuple[str, str], reps: int) -> Timing:
    """Both sides of a pair at N (neither when the dialed sampler is not available here)."""
    mine, theirs = pair
    why = available(mine)
    if why is not None:
        return Timing(backend.kind, n, mine, theirs, None, None, why)
    d_storage, d_name = backend.study("dialed", n)
    o_storage, o_name = backend.study("optuna", n)
    d_cost, o_cost = interleaved(
        [dialed_cycle(d_storage, d_name, mine), optuna_cycle(o_storage, o_name, theirs)], reps)
    return Timing(backend.kind, n, mine, theirs, d_cost, o_cost)


def plan(quick: bool) -> list[tuple[int, tuple[str, str]]]:
    """(history size, sampler pair) to measure, in order of size."""
    sizes = (100, 1000) if quick else (100, 1000, 5000)
    return [(n, pair) for n in sorted(set(sizes) | set(GP_SIZES)) for pair in PAIRS
            if n in (GP_SIZES if pair[0] == "gp" else sizes)]


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}" if v < 100 else f"{v:.0f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}"


def verdicts(rows: Sequence[Timing]) -> list[str]:
    """The issue's targets, each PASS/FAIL from the CPU times (n/a when not measured)."""
    out = []
    for backend in sorted({r.backend for r in rows}, key=lambda b: b != "memory"):
        targets = (
            ("tpe", 1000, "trial", 1 / 3, "dialed TPE time per trial at 1,000 finished trials "
                                          "is at most 1/3 of Optuna TPE's"),
            ("gp", 200, "ask", 1.0, "dialed GP suggest time at 200 trials stays under Optuna "
                                    "GPSampler's"),
        )
        for sampler, n, part, most, claim in targets:
            claim = f"{claim} ({backend}, CPU time)"
            found = [r for r in rows if r.backend == backend and r.dialed == sampler and r.n == n]
            r = found[0] if found else None
            if r is None or r.dialed_cost is None or r.optuna_cost is None:
                why = f" ({r.note})" if r is not None and r.note else ""
                out.append(f"- **n/a**: {claim}: not measured{why}")
                continue
            mine, theirs = _ms(r.dialed_cost, part, True), _ms(r.optuna_cost, part, True)
            ratio = mine / theirs
            ok = ratio <= most if most < 1 else ratio < most
            wall = _ms(r.dialed_cost, part, False) / _ms(r.optuna_cost, part, False)
            out.append(f"- **{'PASS' if ok else 'FAIL'}**: {claim}: {mine:.2f} ms vs "
                       f"{theirs:.2f} ms (ratio {ratio:.2f}, target "
                       f"{'<= ' + format(most, '.2f') if most < 1 else '< 1'}; wall-time ratio "
                       f"{wall:.2f})")
    return out


def _ms(cost: Cost, part: str, cpu: bool) -> float:
    return {("ask", False): cost.ask_ms, ("trial", False): cost.trial_ms,
            ("ask", True): cost.ask_cpu_ms, ("trial", True): cost.trial_cpu_ms}[(part, cpu)]


def render(rows: Sequence[Timing], command: str, reps: int, seconds: float) -> str:
    import dialed

    versions = [f"dialed {dialed.__version__}"]
    for pkg in ("optuna", "torch", "cmaes", "numpy", "SQLAlchemy"):
        try:
            versions.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{pkg} (not installed)")
    lines = [
        "# Per-suggestion overhead: dialed vs Optuna",
        "",
        f"- command: `{command}`",
        f"- date: {dt.date.today().isoformat()}; took {seconds / 60:.1f} min",
        "- machine: 2 CPU cores shared with other work (timings are indicative), "
        f"{platform.platform()}, Python {platform.python_version()}; one thread everywhere",
        f"- packages: {', '.join(versions)}",
        f"- {N_PARAMS} float parameters in [{LOW:g}, {HIGH:g}], trivial objective; history "
        f"prefilled with N finished random trials; median of {reps} timed ask+tell cycles after "
        f"one warm-up (GP: at most {GP_MAX_REPS}), dialed's and Optuna's interleaved cycle by "
        "cycle. Suggest = the ask (where the sampler "
        "proposes); trial = ask + tell. Times in ms, CPU time of the process (the targets) and "
        "wall time; ratio = dialed / Optuna (below 1: dialed is faster).",
        "",
        "## Targets",
        "",
        *verdicts(rows),
    ]
    for backend in ("memory", "sqlite"):
        mine = [r for r in rows if r.backend == backend]
        if not mine:
            continue
        lines += [
            "",
            f"## {'In memory' if backend == 'memory' else 'SQLite (temporary file)'}",
            "",
            "| dialed | Optuna | finished trials | dialed suggest CPU | Optuna suggest CPU | "
            "ratio | dialed trial CPU | Optuna trial CPU | ratio | trial wall: dialed | "
            "Optuna | ratio |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in sorted(mine, key=lambda r: ([p[0] for p in PAIRS].index(r.dialed), r.n)):
            cells = [r.dialed, r.optuna, str(r.n)]
            for part, cpu in (("ask", True), ("trial", True), ("trial", False)):
                a = None if r.dialed_cost is None else _ms(r.dialed_cost, part, cpu)
                b = None if r.optuna_cost is None else _ms(r.optuna_cost, part, cpu)
                cells += [_fmt(a), _fmt(b), _ratio(a, b)]
            lines.append("| " + " | ".join(cells) + " |")
    notes = sorted({r.note for r in rows if r.note})
    lines += ["", "## Notes", "",
              "- GP is measured at 100, 200 and 1,000 finished trials only (an exact GP is "
              "cubic in N; at 5,000 one Optuna GPSampler suggestion takes minutes).",
              *[f"- {n}" for n in notes]]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="sizes 100 and 1,000 (GP also 200)")
    ap.add_argument("--reps", type=int, help="timed cycles per measurement (default 20; the "
                                              f"GP at most {GP_MAX_REPS})")
    ap.add_argument("--backends", default="memory,sqlite", help="default %(default)s")
    ap.add_argument("--samplers", default=",".join(p[0] for p in PAIRS),
                    help="dialed samplers to compare (default %(default)s)")
    ap.add_argument("--out", type=Path, default=RESULTS / "overhead.md")
    ap.add_argument("--only", choices=("tables", "extra"),
                    help="run only the per-suggestion tables or only extra.py's measurements "
                         "(default: both)")
    ap.add_argument("--extra-rounds", type=int, default=3,
                    help="rounds of extra.py's measurements (default %(default)s)")
    ap.add_argument("--tpe-trials", type=int, default=100,
                    help="of the 5,000 trials of the memory figure, how many TPE runs (the "
                         "rest are prefilled; default %(default)s)")
    ap.add_argument("--extra-out", type=Path, default=RESULTS / "overhead-extra.md")
    args = ap.parse_args(argv)
    command = "PYTHONPATH=src python -m benchmarks.overhead.run " + " ".join(
        sys.argv[1:] if argv is None else argv)
    if args.only != "tables":
        from benchmarks.overhead.extra import run_extra

        print(run_extra(args.extra_rounds, args.tpe_trials, args.extra_out, command.strip()))
        print(f"wrote {args.extra_out}")
        if args.only == "extra":
            return 0
    reps = args.reps or 20
    wanted = set(args.samplers.split(","))

    import optuna
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.simplefilter("ignore")  # experimental-feature and independent-sampling warnings
    rows: list[Timing] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(1):
        for kind in args.backends.split(","):
            backend = Backend(kind, Path(tmp))
            for n, pair in plan(args.quick):
                if pair[0] not in wanted:
                    continue
                r = measure(backend, n, pair, min(reps, GP_MAX_REPS) if pair[0] == "gp"
                            else reps)
                rows.append(r)
                d = None if r.dialed_cost is None else r.dialed_cost.trial_cpu_ms
                o = None if r.optuna_cost is None else r.optuna_cost.trial_cpu_ms
                print(f"{kind:6} N={n:5d} {pair[0]:6} {_fmt(d):>8} ms CPU  {pair[1]:13} "
                      f"{_fmt(o):>8} ms CPU  {r.note}", flush=True)
    text = render(rows, command.strip(), reps, time.perf_counter() - start)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
