"""Run the bayesmark benchmark: every method on the same problems and seeds, then score.

Each job is one (method, problem, seed) run in bayesmark's batch protocol: ``--iters``
iterations (16) of ``--batch`` suggestions (8), 128 evaluations. Per iteration the method is
asked for all 8 suggestions first (the earlier ones count as running while the later ones are
asked), then the 8 are evaluated and told. Each finished run is appended to a JSONL file of raw
results, and the report is written from that file.

    PYTHONPATH=src python -m benchmarks.bbo.run --quick --workers 2   # ~20 minutes
    PYTHONPATH=src python -m benchmarks.bbo.run --workers 2           # every problem: ~12 hours

The full mode (90 problems x 3 seeds x 8 methods, 23 hours of single-threaded jobs) writes
``results/bbo.md`` from ``bbo-raw/full.jsonl``; the quick mode ``results/bbo-quick.md``; any other
tag ``results/bbo-TAG.md``.

The full mode resumes: runs already in its JSONL are skipped. Other modes re-run the selected
jobs and replace their records (``--resume`` to skip them instead).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from importlib import metadata
from multiprocessing import get_context
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = Path(__file__).resolve().parents[2]
for _path in (ROOT, ROOT / "src"):  # run as a script too: python benchmarks/.../run.py
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
RESULTS = HERE.parent / "results"
RAW = RESULTS / "bbo-raw"

#: The quick subset: cheap problems (well under a second per evaluation) covering six models,
#: both problem types and all four metrics.
QUICK_PROBLEMS = (
    "DT-wine-nll",
    "SVM-wine-acc",
    "RF-diabetes-mse",
    "MLP-adam-iris-nll",
    "lasso-wine-acc",
    "linear-diabetes-mae",
)
QUICK_SEEDS = 3
FULL_SEEDS = 3


def _limit_threads() -> None:
    """One thread per process for BLAS/OpenMP and torch: jobs run side by side on few cores."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"


def run_job(method: str, problem: str, seed: int, iters: int, batch: int) -> dict[str, Any]:
    """One run; returns its raw record (losses in evaluation order, timings)."""
    from threadpoolctl import threadpool_limits

    from benchmarks.bbo.methods import make_method
    from benchmarks.bbo.problems import parse_problem

    if method == "optuna-gp":
        import torch

        torch.set_num_threads(1)
    prob = parse_problem(problem)
    losses: list[float | None] = []
    ask_s = tell_s = eval_s = ask_cpu = eval_cpu = 0.0
    start, start_cpu = time.perf_counter(), time.process_time()
    with threadpool_limits(1):
        opt = make_method(method, prob.space, seed, budget=iters * batch, batch=batch)
        for _ in range(iters):
            asked = []
            for _ in range(batch):
                t0, c0, h0 = time.perf_counter(), time.process_time(), opt.helper_cpu_s()
                asked.append(opt.ask())
                ask_s += time.perf_counter() - t0
                ask_cpu += time.process_time() - c0 + opt.helper_cpu_s() - h0
            results = []
            for _, params in asked:
                t0, c0 = time.perf_counter(), time.process_time()
                results.append(prob.evaluate(params, seed))
                eval_s += time.perf_counter() - t0
                eval_cpu += time.process_time() - c0
            for (token, _), loss in zip(asked, results, strict=True):
                t0 = time.perf_counter()
                opt.tell(token, loss)
                tell_s += time.perf_counter() - t0
                losses.append(float(f"{loss:.8g}") if math.isfinite(loss) else None)
        opt.close()
    return {
        "method": method, "problem": problem, "model": prob.model, "dataset": prob.dataset,
        "metric": prob.metric, "seed": seed, "iters": iters, "batch": batch, "losses": losses,
        "n_ask": iters * batch, "ask_s": round(ask_s, 4), "ask_cpu_s": round(ask_cpu, 4),
        "tell_s": round(tell_s, 4), "eval_s": round(eval_s, 2), "eval_cpu_s": round(eval_cpu, 2),
        "wall_s": round(time.perf_counter() - start, 2),
        "cpu_s": round(time.process_time() - start_cpu, 2),
        "dialed": _dialed_revision(), "finished": dt.datetime.now().isoformat(timespec="seconds"),
        "info": opt.info(),
    }


def _dialed_revision() -> str:
    """The git commit of the dialed source tree (with ``+dirty`` for uncommitted changes)."""
    root = HERE.parent.parent
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, check=True,
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=root,
                               check=True, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return rev + ("+dirty" if dirty else "")


def _versions() -> str:
    import dialed

    out = [f"dialed {dialed.__version__}"]
    for pkg in ("optuna", "hyperopt", "smac", "scikit-learn", "torch", "numpy"):
        try:
            out.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            out.append(f"{pkg} (not installed)")
    return ", ".join(out)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    from benchmarks.bbo.methods import DEFAULT_METHODS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help=f"the quick subset: {len(QUICK_PROBLEMS)} problems x {QUICK_SEEDS} "
                         "seeds")
    ap.add_argument("--methods", default=",".join(DEFAULT_METHODS),
                    help="comma-separated methods (default: %(default)s)")
    ap.add_argument("--problems", help="comma-separated problems (MODEL-DATASET-METRIC)")
    ap.add_argument("--models", help="comma-separated models: every problem of these")
    ap.add_argument("--seeds", type=int, help="number of seeds (0..N-1)")
    ap.add_argument("--iters", type=int, default=16, help="iterations (default %(default)s)")
    ap.add_argument("--batch", type=int, default=8, help="suggestions per iteration "
                                                           "(default %(default)s)")
    ap.add_argument("--workers", type=int, default=1, help="processes (default %(default)s)")
    ap.add_argument("--tag", help="names the raw file bbo-raw/TAG.jsonl and the report "
                                  "(default: quick, full, or custom)")
    ap.add_argument("--report", type=Path, help="the markdown report (default: "
                                                  "results/bbo.md for the full mode, "
                                                  "results/bbo-TAG.md otherwise)")
    ap.add_argument("--resume", action="store_true", help="skip runs already in the raw file")
    ap.add_argument("--fresh", action="store_true",
                    help="re-run runs already in the raw file (the full mode resumes otherwise)")
    ap.add_argument("--pool-seeds", action="store_true",
                    help="score with one opt and clip per problem over all seeds (default: "
                         "per seed, since the seed sets the data split)")
    ap.add_argument("--compare", help="comma-separated methods the report scores (default: "
                                      "every method in the raw file; a (problem, seed) is "
                                      "scored when each of them ran it)")
    ap.add_argument("--hebo-python", type=Path,
                    help="the Python of HEBO's own virtualenv (default: $BBO_HEBO_PYTHON, else "
                         ".bench-venvs/hebo/bin/python; see benchmarks/README.md)")
    ap.add_argument("--note", action="append", default=[],
                    help="a line for the report's header (e.g. why a subset ran); repeatable")
    ap.add_argument("--score-only", action="store_true",
                    help="run nothing: rewrite the report from the raw file")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    _limit_threads()
    from benchmarks.bbo.methods import method_available
    from benchmarks.bbo.problems import all_problems, parse_problem
    from benchmarks.bbo.score import load_records, record_key, render, score

    args = parse_args(argv)
    if args.hebo_python is not None:  # the worker processes inherit it
        os.environ["BBO_HEBO_PYTHON"] = str(args.hebo_python.absolute())
    custom = bool(args.problems or args.models)
    mode = "custom" if custom else "quick" if args.quick else "full"
    if args.problems:
        problems = [parse_problem(p.strip()).name for p in args.problems.split(",")]
    elif args.models:
        wanted = {m.strip() for m in args.models.split(",")}
        problems = [p.name for p in all_problems() if p.model in wanted]
    elif args.quick:
        problems = list(QUICK_PROBLEMS)
    else:
        problems = [p.name for p in all_problems()]
    n_seeds = args.seeds or (QUICK_SEEDS if args.quick else FULL_SEEDS)
    seeds = list(range(n_seeds))
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    tag = args.tag or mode
    raw = RAW / f"{tag}.jsonl"
    report = args.report or RESULTS / ("bbo.md" if tag == "full" else f"bbo-{tag}.md")
    resume = args.resume or (mode == "full" and not args.fresh)

    missing = {m: why for m in methods if (why := method_available(m)) is not None}
    for m, why in missing.items():
        print(f"skipping {m}: {why}", file=sys.stderr)
    methods = [m for m in methods if m not in missing]
    jobs = [(m, p, s, args.iters, args.batch) for s in seeds for p in problems for m in methods]
    records = load_records(raw)
    if "random" not in methods and not any(r["method"] == "random" for r in records):
        print("the 'random' method is needed: it sets each problem's clip", file=sys.stderr)
        return 2
    if not args.score_only:
        done = {record_key(r) for r in records}
        if resume:
            todo = [j for j in jobs if j not in done]
        else:
            todo = jobs
            selected = set(jobs)
            records = [r for r in records if record_key(r) not in selected]
            RAW.mkdir(parents=True, exist_ok=True)
            raw.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        print(f"{len(todo)} runs to do ({len(jobs) - len(todo)} already in {raw}); "
              f"{args.workers} worker(s)", flush=True)
        records += _run_all(todo, raw, args.workers)

    cells = {(p, s, args.iters, args.batch) for s in seeds for p in problems}
    mine = [r for r in records if record_key(r)[1:] in cells]  # every method the file has
    try:
        compare = None if not args.compare else [m.strip() for m in args.compare.split(",")]
        scores = score(mine, methods=compare, pool_seeds=args.pool_seeds)
    except ValueError as exc:
        print(f"cannot score {raw}: {exc}", file=sys.stderr)
        return 2
    command = "PYTHONPATH=src python -m benchmarks.bbo.run " + shlex.join(
        sys.argv[1:] if argv is None else list(argv))
    revisions = sorted({r["dialed"] for r in mine if r["method"].startswith("dialed-")})
    header = [
        "# Black-box optimisation benchmark (bayesmark protocol)",
        "",
        f"- command: `{command.strip()}`"
        + (" (scored from the raw file; the same command without `--score-only` runs the "
           "benchmark)" if args.score_only else ""),
        f"- date: {dt.date.today().isoformat()}; mode: {mode}; raw results: "
        f"`{_shown(raw)}`",
        "- machine: 2 CPU cores shared with other work (timings are indicative), "
        f"{platform.platform()}, Python {platform.python_version()}; one thread per job",
        f"- packages: {_versions()}; dialed revision(s) in these runs: "
        f"{', '.join(revisions) or 'none'}",
        f"- protocol: {args.iters} iterations x batch {args.batch} per run; loss = minus the "
        "mean 5-fold CV score on an 80% split fixed by the seed (bayesmark's problems, see "
        "benchmarks/bbo/problems.py)",
    ]
    chosen = Counter(str((r.get("info") or {}).get("sampler", "?")) for r in mine
                     if r["method"] == "dialed-auto")
    if chosen:
        header.append("- dialed-auto chose: " + ", ".join(f"{k} in {v} runs" for k, v in
                                                          chosen.most_common()))
    if missing:
        header.append("- not run here: " + "; ".join(f"{m} ({why})" for m, why in
                                                     missing.items()))
    header += [f"- note: {n}" for n in args.note]
    text = render(scores, header)
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(text, encoding="utf-8")
    print(text)
    print(f"wrote {report}")
    return 0


def _shown(path: Path) -> str:
    """``path`` relative to the repository when it lies inside it."""
    root = HERE.parent.parent
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _run_all(todo: list[tuple[str, str, int, int, int]], raw: Path, workers: int,
             in_process: bool | None = None) -> list[dict[str, Any]]:
    """Run the jobs (in ``workers`` processes; one worker runs them in this process unless
    ``in_process`` is False), appending each record to ``raw`` as it ends."""
    RAW.mkdir(parents=True, exist_ok=True)
    out: list[dict[str, Any]] = []
    start = time.perf_counter()

    def done(rec: dict[str, Any]) -> None:
        out.append(rec)
        with raw.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec) + "\n")
        elapsed = time.perf_counter() - start
        eta = elapsed / len(out) * (len(todo) - len(out))
        print(f"[{len(out)}/{len(todo)}] {rec['method']:<14} {rec['problem']:<24} "
              f"seed {rec['seed']}  {rec['wall_s']:6.1f}s wall, {rec['cpu_s']:6.1f}s CPU (suggest "
              f"{rec['ask_cpu_s']:.1f}s CPU)  "
              f"elapsed {elapsed / 60:.1f} min, eta {eta / 60:.1f} min", flush=True)

    if workers <= 1 if in_process is None else in_process:
        for job in todo:
            done(run_job(*job))
        return out
    from benchmarks._workers import exit_with_parent

    failed: list[str] = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                            initializer=exit_with_parent, initargs=(os.getpid(),)) as pool:
        futures = {pool.submit(run_job, *job): job for job in todo}
        for fut in as_completed(futures):
            try:
                rec = fut.result()
            except Exception as exc:  # one broken run must not stop (or hide) the others
                method, problem, seed = futures[fut][:3]
                line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                failed.append(f"{method} {problem} seed {seed}: {type(exc).__name__}: {line}")
                print(f"FAILED {failed[-1]}", file=sys.stderr, flush=True)
                continue
            done(rec)
    if failed:
        print(f"{len(failed)} run(s) failed and are not in {raw}:\n  " + "\n  ".join(failed),
              file=sys.stderr)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
