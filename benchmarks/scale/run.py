"""Scale: trials per second with 1, 2 and 4 workers, storage overhead per trial, query times.

Three measurements, dialed beside Optuna in the same run:

1. **Throughput.** A no-op objective (one float suggested and returned) with a random sampler.
   ``k`` worker processes (forked from this one after the imports) each open the storage, load
   the study and run a few warm-up trials; then, from a common start, each runs its share of
   ``n`` trials. Trials per second = ``n`` / (last finish - common start). Backends: dialed on
   SQLite and PostgreSQL (``SQLStorage``), dialed with ``executor="ray"`` (tasks on a local Ray
   runtime, on SQLite; timed around ``optimize`` after a warm-up run), Optuna's RDB storage on
   SQLite and PostgreSQL, and Optuna's ``JournalStorage(JournalFileBackend)``.
2. **Storage overhead per trial** (1 worker): time per trial on the storage minus time per trial
   of the same library in memory, so that what is compared is the storage, not the loop.
3. **Queries** at 1,000, 10,000 and 100,000 complete trials (written in bulk in one transaction,
   not timed): ``study.best_trial`` and ``study.trials`` of dialed on SQLite and PostgreSQL
   (median of several calls after one warm-up call).

Targets, computed from the numbers and written as PASS / FAIL lines:

- dialed's per-trial storage overhead on SQLite is at most 1/10 of Optuna's RDB storage on
  SQLite, and below Optuna's JournalStorage;
- ``best_trial`` answers in under 50 ms at 100,000 trials on SQLite and on PostgreSQL.

PostgreSQL comes from ``--postgres-url`` or ``DIALED_TEST_POSTGRES_URL``
(``postgresql+psycopg://...``; Optuna uses the same URL through SQLAlchemy); without one the
PostgreSQL rows are left out. Ray is left out when it is not installed.

    PYTHONPATH=src python -m benchmarks.scale.run --quick    # 200 trials per cell (~12 min)
    PYTHONPATH=src python -m benchmarks.scale.run            # 1,000 trials per cell (~45 min)

Each throughput cell runs 3 times (``--reps``) and keeps its best: the machine these run on is
shared, and the best of three is the least disturbed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import multiprocessing as mp
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent.parent / "results"
ROOT = Path(__file__).resolve().parents[2]
for _path in (ROOT, ROOT / "src"):  # run as a script too: python benchmarks/scale/run.py
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

WORKERS = (1, 2, 4)
SIZES = (1_000, 10_000, 100_000)
WARMUP_TRIALS = 3
BEST_LIMIT_MS = 50.0


# -- objectives -------------------------------------------------------------------------------
def dialed_objective(trial: Any) -> float:
    return float(trial.suggest_float("x", 0.0, 1.0))


def optuna_objective(trial: Any) -> float:
    return float(trial.suggest_float("x", 0.0, 1.0))


# -- backends ---------------------------------------------------------------------------------
@dataclass
class Backend:
    """How one library opens one storage: ``create()`` returns a name, ``run(name, n)`` runs."""

    label: str
    library: str  # dialed | optuna
    kind: str  # memory | sqlite | postgresql | journal | ray
    create: Callable[[], str]
    run: Callable[[str, int], None]
    processes: bool = True  # False: one process only (memory, or Ray's own workers)
    cleanup: Callable[[], None] = lambda: None


def dialed_backend(kind: str, url: str | None) -> Backend:
    import dialed

    def create() -> str:
        name = f"scale-{uuid.uuid4().hex[:10]}"
        state["study"] = dialed.create_study(name, storage=url, sampler="random", seed=0)
        return name

    def run(name: str, n: int) -> None:
        study = state.get("study") if url is None else None
        if study is None or study.name != name:
            study = dialed.load_study(name, storage=url)
        study.optimize(dialed_objective, n_trials=n)

    state: dict[str, Any] = {}
    return Backend(f"dialed {kind}", "dialed", kind, create, run, processes=url is not None)


def dialed_ray_backend(url: str, n_jobs: int) -> Backend:
    import dialed

    def create() -> str:
        name = f"scale-ray-{uuid.uuid4().hex[:10]}"
        dialed.create_study(name, storage=url, sampler="random", seed=0)
        return name

    def run(name: str, n: int) -> None:
        study = dialed.load_study(name, storage=url)
        study.optimize(dialed_objective, n_trials=n, n_jobs=n_jobs, executor="ray")

    return Backend("dialed ray (SQLite)", "dialed", "ray", create, run, processes=False)


def optuna_backend(kind: str, target: str | None) -> Backend:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def storage() -> Any:
        if kind == "journal":
            from optuna.storages import JournalStorage
            from optuna.storages.journal import JournalFileBackend

            return JournalStorage(JournalFileBackend(str(target)))
        return target  # None (memory) or an RDB URL

    def create() -> str:
        name = f"scale-{uuid.uuid4().hex[:10]}"
        state["study"] = optuna.create_study(
            study_name=name, storage=storage(), sampler=optuna.samplers.RandomSampler(seed=0))
        return name

    def run(name: str, n: int) -> None:
        study = state.get("study") if target is None else None
        if study is None or study.study_name != name:
            study = optuna.load_study(study_name=name, storage=storage(),
                                      sampler=optuna.samplers.RandomSampler())
        study.optimize(optuna_objective, n_trials=n)

    state: dict[str, Any] = {}
    label = {"memory": "Optuna memory", "sqlite": "Optuna RDB SQLite",
             "postgresql": "Optuna RDB PostgreSQL", "journal": "Optuna JournalFile"}[kind]
    return Backend(label, "optuna", kind, create, run, processes=target is not None)


# -- throughput -------------------------------------------------------------------------------
def _worker(backend: Backend, name: str, share: int, barrier: Any, out: Any) -> None:
    try:
        backend.run(name, WARMUP_TRIALS)
        barrier.wait(timeout=300)
        start = time.perf_counter()
        backend.run(name, share)
        out.put(("ok", start, time.perf_counter()))
    except BaseException as exc:  # reported to the parent
        out.put(("error", f"{type(exc).__name__}: {exc}", 0.0))


def throughput(backend: Backend, workers: int, n: int) -> float:
    """Trials per second of ``workers`` processes running ``n`` trials together."""
    name = backend.create()
    if not backend.processes:
        backend.run(name, WARMUP_TRIALS * max(1, workers))
        start = time.perf_counter()
        backend.run(name, n)
        return n / (time.perf_counter() - start)
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(workers + 1)
    out = ctx.Queue()
    shares = [n // workers + (1 if i < n % workers else 0) for i in range(workers)]
    procs = [ctx.Process(target=_worker, args=(backend, name, s, barrier, out))
             for s in shares]
    for p in procs:
        p.start()
    try:
        barrier.wait(timeout=300)
        common = time.perf_counter()
        results = [out.get(timeout=1800) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
    errors = [r[1] for r in results if r[0] != "ok"]
    if errors:
        raise RuntimeError(f"{backend.label}: a worker failed: {errors[0]}")
    return n / (max(r[2] for r in results) - common)


# -- queries ----------------------------------------------------------------------------------
def fill(url: str, n: int) -> str:
    """A dialed study with ``n`` complete trials (value = a permutation of 0..n-1), in bulk."""
    import sqlalchemy as sa

    from dialed.storage._schema import trial_metrics, trials
    from dialed.storage._sql import SQLStorage

    store = SQLStorage(url)
    name = f"scale-q{n}-{uuid.uuid4().hex[:8]}"
    sid = store.create_study(name, metrics={"value": "minimize"}, seed=0).study_id
    params = {"sid": sid, "n": n}
    with store._engine.begin() as conn:
        if url.startswith("postgresql"):
            numbers = "SELECT i FROM generate_series(0, :n - 1) AS i"
            loss = "((number::bigint * 7919) % :n)::float8"
        else:
            numbers = ("WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s "
                       "WHERE i + 1 < :n) SELECT i FROM s")
            loss = "CAST((number * 7919) % :n AS REAL)"
        conn.execute(sa.text(
            f"INSERT INTO {trials.name} (study_id, number, state, seed, params, created_at, "
            "started_at, finished_at, heartbeat_at, worker, environment, user_attrs, "
            f"system_attrs) SELECT :sid, i, 'complete', i, '{{\"x\": 0.5}}', 1.0, 1.0, 2.0, "
            f"2.0, 'bench:1', '{{}}', '{{}}', '{{}}' FROM ({numbers}) AS numbers"), params)
        conn.execute(sa.text(
            f"INSERT INTO {trial_metrics.name} (trial_id, study_id, name, value) "
            f"SELECT trial_id, study_id, 'value', {loss} FROM {trials.name} "
            "WHERE study_id = :sid"), params)
    with store._engine.connect() as conn:  # fresh planner statistics, as after autovacuum
        conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql(f"ANALYZE {trials.name}")
        conn.exec_driver_sql(f"ANALYZE {trial_metrics.name}")
    store.close()
    return name


def fill_optuna(url: str, n: int) -> str:
    """An Optuna study with ``n`` complete trials (the same values as :func:`fill`), in bulk,
    written into Optuna's own tables (``trials``, ``trial_params``, ``trial_values``)."""
    import optuna
    import sqlalchemy as sa

    name = f"scale-q{n}-{uuid.uuid4().hex[:8]}"
    optuna.create_study(study_name=name, storage=url)
    engine = sa.create_engine(url)
    pg = url.startswith("postgresql")
    numbers = ("SELECT i FROM generate_series(0, :n - 1) AS i" if pg else
               "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < :n) "
               "SELECT i FROM s")

    def enum(value: str, type_name: str) -> str:
        return f"CAST('{value}' AS {type_name})" if pg else f"'{value}'"

    distribution = ('{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0, '
                    '"high": 1.0, "log": false}}')
    try:
        with engine.begin() as conn:
            sid = conn.execute(sa.text("SELECT study_id FROM studies WHERE study_name = :name"),
                               {"name": name}).scalar_one()
            params = {"sid": sid, "n": n, "t": dt.datetime(2026, 1, 1)}
            conn.execute(sa.text(
                "INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete) "
                f"SELECT i, :sid, {enum('COMPLETE', 'trialstate')}, :t, :t "
                f"FROM ({numbers}) AS numbers"), params)
            conn.execute(sa.text(
                "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) "
                "SELECT trial_id, 'x', 0.5, :dist FROM trials WHERE study_id = :sid"),
                {**params, "dist": distribution})
            conn.execute(sa.text(
                "INSERT INTO trial_values (trial_id, objective, value, value_type) "
                f"SELECT trial_id, 0, CAST((number * 7919) % :n AS FLOAT), "
                f"{enum('FINITE', 'trialvaluetype')} FROM trials WHERE study_id = :sid"), params)
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in ("trials", "trial_params", "trial_values"):
                conn.exec_driver_sql(f"ANALYZE {table}")
    finally:
        engine.dispose()
    return name


def median_ms(call: Callable[[], Any], reps: int) -> float:
    call()  # warm-up: connection, statement caches
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def cold_ms(open_handle: Callable[[], Any], read: Callable[[Any], Any], reps: int) -> float:
    """Median time of ``read`` on a freshly opened handle (Optuna caches finished trials in
    its storage object, so a second read on one handle measures the cache, not the storage)."""
    times = []
    for _ in range(reps):
        handle = open_handle()
        start = time.perf_counter()
        read(handle)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def queries(label: str, url: str, sizes: Sequence[int]) -> list[tuple[str, int, float, float]]:
    """``best_trial`` and all trials of a study of each size, dialed or Optuna (``label``)."""
    rows = []
    for n in sizes:
        if label.startswith("dialed"):
            import dialed

            name = fill(url, n)
            study: Any = dialed.load_study(name, storage=url)
            best = median_ms(lambda s=study: s.best_trial, 7)
            listing = cold_ms(lambda name=name: dialed.load_study(name, storage=url),
                              lambda s: s.trials, 3 if n >= 100_000 else 5)
            assert study.best_trial.metrics["value"] == 0.0
            study.storage.delete_study(name)
            study.storage.close()
        else:
            import optuna

            name = fill_optuna(url, n)
            study = optuna.load_study(study_name=name, storage=url)
            best = median_ms(lambda s=study: s.best_trial, 7 if n < 100_000 else 3)
            listing = cold_ms(lambda name=name: optuna.load_study(study_name=name, storage=url),
                              lambda s: s.get_trials(deepcopy=False), 1 if n >= 100_000 else 3)
            assert study.best_trial.value == 0.0
            optuna.delete_study(study_name=name, storage=url)
        rows.append((label, n, best, listing))
        print(f"  {label} at {n:,} trials: best {best:.2f} ms, trials {listing:.0f} ms",
              flush=True)
    return rows


# -- the run ----------------------------------------------------------------------------------
@dataclass
class Results:
    throughput: dict[tuple[str, int], float] = field(default_factory=dict)  # trials/s
    skipped: list[str] = field(default_factory=list)
    queries: list[tuple[str, int, float, float]] = field(default_factory=list)


@contextlib.contextmanager
def ray_runtime(cpus: int) -> Iterator[bool]:
    try:
        import ray
    except ImportError:
        yield False
        return
    ray.init(address="local", num_cpus=cpus, include_dashboard=False,
             _node_ip_address="127.0.0.1", logging_level="WARNING")
    try:
        yield True
    finally:
        ray.shutdown()


def measure(args: argparse.Namespace, folder: Path) -> Results:
    res = Results()
    pg = args.postgres_url
    backends: list[tuple[Backend, Sequence[int]]] = [
        (dialed_backend("memory", None), (1,)),
        (optuna_backend("memory", None), (1,)),
        (dialed_backend("SQLite", f"sqlite:///{folder / 'dialed.db'}"), WORKERS),
        (optuna_backend("sqlite", f"sqlite:///{folder / 'optuna.db'}"), WORKERS),
        (optuna_backend("journal", str(folder / "optuna-journal.log")), WORKERS),
    ]
    if pg:
        backends += [(dialed_backend("PostgreSQL", pg), WORKERS),
                     (optuna_backend("postgresql", pg), WORKERS)]
    else:
        res.skipped.append("PostgreSQL: no --postgres-url and no DIALED_TEST_POSTGRES_URL")
    for rep in range(args.reps):
        for backend, workers in backends:
            for k in workers:
                rate = throughput(backend, k, args.trials)
                key = (backend.label, k)
                res.throughput[key] = max(res.throughput.get(key, 0.0), rate)
                print(f"[{rep + 1}/{args.reps}] {backend.label}, {k} worker(s): {rate:.1f} "
                      "trials/s", flush=True)
    with ray_runtime(max(WORKERS)) as have_ray:
        if have_ray:
            url = f"sqlite:///{folder / 'dialed-ray.db'}"
            for k in WORKERS:
                backend = dialed_ray_backend(url, k)
                rate = max(throughput(backend, k, args.trials) for _ in range(args.reps))
                res.throughput[(backend.label, k)] = rate
                print(f"{backend.label}, {k} task(s) at once: {rate:.1f} trials/s", flush=True)
        else:
            res.skipped.append("Ray: not installed (pip install 'dialed[ray]')")
    print("queries:", flush=True)
    res.queries += queries("dialed SQLite", f"sqlite:///{folder / 'queries.db'}", args.sizes)
    res.queries += queries("Optuna RDB SQLite", f"sqlite:///{folder / 'optuna-q.db'}",
                           args.sizes)
    if pg:
        res.queries += queries("dialed PostgreSQL", pg, args.sizes)
        res.queries += queries("Optuna RDB PostgreSQL", pg, args.sizes)
    return res


# -- the report -------------------------------------------------------------------------------
def ms_per_trial(res: Results, label: str) -> float | None:
    rate = res.throughput.get((label, 1))
    return None if not rate else 1000.0 / rate


def overhead(res: Results, label: str, memory_label: str) -> float | None:
    own, mem = ms_per_trial(res, label), ms_per_trial(res, memory_label)
    return None if own is None or mem is None else max(own - mem, 0.0)


def verdicts(res: Results) -> list[str]:
    lines = []
    d_sql = overhead(res, "dialed SQLite", "dialed memory")
    o_rdb = overhead(res, "Optuna RDB SQLite", "Optuna memory")
    o_jrn = overhead(res, "Optuna JournalFile", "Optuna memory")
    if d_sql is not None and o_rdb is not None:
        ok = d_sql <= o_rdb / 10
        lines.append(f"- {'PASS' if ok else 'FAIL'}: per-trial storage overhead on SQLite "
                     f"{d_sql:.2f} ms is {'at most' if ok else 'more than'} 1/10 of Optuna's "
                     f"RDB storage ({o_rdb:.2f} ms; ratio 1/{o_rdb / max(d_sql, 1e-9):.1f})")
    if d_sql is not None and o_jrn is not None:
        ok = d_sql < o_jrn
        lines.append(f"- {'PASS' if ok else 'FAIL'}: per-trial storage overhead on SQLite "
                     f"{d_sql:.2f} ms is {'below' if ok else 'not below'} Optuna's JournalStorage "
                     f"({o_jrn:.2f} ms)")
    for label in ("dialed SQLite", "dialed PostgreSQL"):
        at = [q for q in res.queries if q[0] == label and q[1] == max(SIZES)]
        if at:
            best = at[0][2]
            ok = best < BEST_LIMIT_MS
            lines.append(f"- {'PASS' if ok else 'FAIL'}: `best_trial` at 100,000 trials on "
                         f"{label.split()[1]} takes {best:.2f} ms ({'under' if ok else 'not under'}"
                         f" {BEST_LIMIT_MS:.0f} ms)")
    return lines


def versions() -> str:
    out = []
    for dist in ("optuna", "SQLAlchemy", "psycopg", "ray"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out.append(f"{dist} {metadata.version(dist)}")
    return ", ".join(out)


def this_machine() -> str:
    return (f"{platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs; "
            f"{versions()}")


def save_raw(path: Path, res: Results, args: argparse.Namespace, command: str,
             seconds: float) -> None:
    path.write_text(json.dumps({
        "command": command, "seconds": seconds, "date": dt.date.today().isoformat(),
        "trials": args.trials, "reps": args.reps,
        "platform": this_machine(),
        "throughput": [[label, k, rate] for (label, k), rate in res.throughput.items()],
        "queries": [list(q) for q in res.queries], "skipped": res.skipped,
    }, indent=1) + "\n", encoding="utf-8")


def load_raw(path: Path, args: argparse.Namespace) -> tuple[Results, str, float, str, str]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    res = Results(
        throughput={(label, int(k)): float(rate) for label, k, rate in raw["throughput"]},
        skipped=list(raw["skipped"]),
        queries=[(str(q[0]), int(q[1]), float(q[2]), float(q[3])) for q in raw["queries"]],
    )
    args.trials, args.reps = raw["trials"], raw["reps"]
    return res, raw["command"], float(raw["seconds"]), raw["date"], raw["platform"]


def report(res: Results, args: argparse.Namespace, command: str, seconds: float,
           date: str | None = None, machine: str | None = None) -> str:
    labels = list(dict.fromkeys(label for label, _ in res.throughput))
    lines = [
        "# Scale: throughput, storage overhead, query time",
        "",
        f"Command: `{command}`",
        "",
        f"Date {date or dt.date.today().isoformat()}; {machine or this_machine()}. Took "
        f"{seconds / 60:.1f} min. {args.trials} trials per cell, best of {args.reps} "
        "repetition(s); no-op objective (one float suggested and returned), random sampler.",
        "",
        "## Targets",
        "",
        *verdicts(res),
        "",
        "## Trials per second",
        "",
        "Worker processes forked after the imports; each loads the study and runs "
        f"{WARMUP_TRIALS} warm-up trials, then all start together. Ray: tasks on a local "
        f"runtime with {max(WORKERS)} CPUs, at most k at once (`n_jobs=k`), on SQLite.",
        "",
        "| backend | " + " | ".join(f"{k} worker{'s' if k > 1 else ''}" for k in WORKERS) + " |",
        "|---|" + "---:|" * len(WORKERS),
    ]
    for label in labels:
        cells = [res.throughput.get((label, k)) for k in WORKERS]
        lines.append(f"| {label} | " + " | ".join("" if c is None else f"{c:.1f}"
                                                  for c in cells) + " |")
    lines += [
        "",
        "## Per-trial time and storage overhead (1 worker)",
        "",
        "Overhead = milliseconds per trial on the storage minus the same library in memory.",
        "",
        "| backend | ms per trial | storage overhead, ms |",
        "|---|---:|---:|",
    ]
    for label in labels:
        per = ms_per_trial(res, label)
        if per is None:
            continue
        memory = "dialed memory" if label.startswith("dialed") else "Optuna memory"
        over = overhead(res, label, memory) if "memory" not in label else None
        lines.append(f"| {label} | {per:.2f} | {'' if over is None else f'{over:.2f}'} |")
    lines += [
        "",
        "## Query time",
        "",
        "Complete trials written in bulk (not timed). `best_trial`: median of repeated calls "
        "after a warm-up (dialed: an indexed walk, see the query-plan tests in "
        "tests/storage/); all trials (dialed `study.trials`, Optuna "
        "`study.get_trials(deepcopy=False)`): median of reads each on a freshly opened study, "
        "since Optuna's storage caches finished trials after the first read.",
        "",
        "| storage | trials | `best_trial`, ms | `trials`, ms |",
        "|---|---:|---:|---:|",
    ]
    for label, n, best, listing in res.queries:
        lines.append(f"| {label} | {n:,} | {best:.2f} | {listing:.0f} |")
    if res.skipped:
        lines += ["", "Left out: " + "; ".join(res.skipped) + "."]
    if args.notes:
        lines += ["", "## Notes", "", args.notes.read_text(encoding="utf-8").strip()]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="200 trials per cell")
    ap.add_argument("--trials", type=int, help="trials per throughput cell")
    ap.add_argument("--reps", type=int, help="repetitions of each throughput cell (best kept)")
    ap.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")],
                    default=list(SIZES), help="study sizes for the query times")
    ap.add_argument("--postgres-url", default=os.environ.get("DIALED_TEST_POSTGRES_URL"))
    ap.add_argument("--notes", type=Path, help="a Markdown file appended as the Notes section")
    ap.add_argument("--out", type=Path, default=RESULTS / "scale.md")
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite the report from the raw numbers beside it (OUT with .json)")
    args = ap.parse_args(argv)
    raw_path = args.out.with_suffix(".json")
    if args.report_only:
        res, command, seconds, date, machine = load_raw(raw_path, args)
        args.out.write_text(report(res, args, command, seconds, date, machine), encoding="utf-8")
        print(args.out.read_text(encoding="utf-8"))
        return 0
    args.trials = args.trials or (200 if args.quick else 1000)
    args.reps = args.reps or 3
    logging.getLogger("optuna").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")
    from dialed.storage import redact_url

    command = "PYTHONPATH=src python -m benchmarks.scale.run " + " ".join(
        redact_url(a) if "://" in a else a for a in (argv if argv is not None else sys.argv[1:]))
    folder = Path(tempfile.mkdtemp(prefix="dialed-scale-"))
    start = time.perf_counter()
    try:
        res = measure(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    seconds = time.perf_counter() - start
    text = report(res, args, command.strip(), seconds)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_raw(raw_path, res, args, command.strip(), seconds)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
