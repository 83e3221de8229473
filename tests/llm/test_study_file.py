"""A study file's llm: section through the command line, against the real server: dialed run
(baseline, one stage, confirm), dialed verify on the suite's locked test part, bad input as one
line with nothing stored lost, and the cache on a second run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

import dialed
from dialed.cli import app

from ._proxy import FaultProxy
from .conftest import MODEL

ROWS = [("What is 2 + 2?", "4"), ("What is 3 + 4?", "7"), ("What is 9 - 5?", "4")]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def _files(tmp_path: Path, url: str, **llm: Any) -> Path:
    lines = [{"id": f"v{i}", "prompt": q, "answer": a, "split": "validation"}
             for i, (q, a) in enumerate(ROWS)]
    lines.append({"id": "t0", "prompt": "What is 5 + 1?", "answer": "6", "split": "test"})
    lines.append({"id": "s0", "prompt": "What is 1 + 1?", "answer": "2", "split": "shots"})
    (tmp_path / "suite.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    section: dict[str, Any] = {
        "base_url": url, "model": MODEL, "suite": "suite.jsonl", "samples": 1,
        "scorer": "numeric", "prices": {MODEL: {"input": 1.0, "output": 2.0}},
        "concurrency": 2, "cache": "cache", "request": {"max_tokens": 8},
        "system_prompts": {"none": "", "terse": "Answer with the number only."},
    }
    section.update(llm)
    study = {
        "study": "llm-file", "storage": "sqlite:///llm.db", "llm": section,
        "metrics": {"accuracy": "maximize", "latency_p95_ms": "track",
                    "cost_per_1k_items": "track", "error_rate": "track"},
        "space": {
            "temperature": {"type": "float", "low": 0.0, "high": 1.0, "family": "sampling"},
            "system_prompt": {"type": "categorical", "choices": ["none", "terse"],
                              "family": "prompt"},
        },
        "baseline": {"temperature": 0.0, "system_prompt": "none"},
        "repeats": 2,
        "stages": [{"families": "sampling", "trials": 2}],
        "confirm": {"top": 1, "repeats": 2},
        "budget": {"trials": 2},
        "tradeoff": {"rule": "best", "metric": "accuracy",
                     "bounds": {"latency_p95_ms": "<= 60000"}},
        "seed": 0,
    }
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


def test_run_verify_and_the_cache(proxy: FaultProxy, tmp_path: Path) -> None:
    path = _files(tmp_path, proxy.base_url)
    done = invoke("run", str(path), "--no-progress")
    assert done.exit_code == 0, done.output
    study = dialed.load_study("llm-file", storage=f"sqlite:///{tmp_path / 'llm.db'}")
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    # baseline 2 repeats, 2 stage trials, the stage's best 2 repeats, confirm 1 x 2: 8 x 3 calls
    assert len(complete) == 8
    for t in complete:
        assert t.metrics["calls"] == 3 and t.metrics["error_rate"] == 0.0
        assert 0.0 <= t.metrics["accuracy"] <= 1.0 and "cost_per_1k_items" in t.metrics
    paid = proxy.forwarded
    # the baseline runs at temperature 0: its second repeat was answered by the cache
    assert paid < 8 * 3 + 1
    verified = invoke("verify", str(path))
    assert verified.exit_code == 0, verified.output
    assert "accuracy: validation" in verified.output
    assert "test" in verified.output and proxy.forwarded - paid <= 2  # probe + 1 test item
    # the same study file on a new storage: every call was made before; none is paid again
    before = proxy.forwarded
    again = invoke("run", str(path), "--no-progress", "--storage",
                   f"sqlite:///{tmp_path / 'again.db'}")
    assert again.exit_code == 0, again.output
    assert proxy.forwarded - before == 1  # only the check's one-token probe


@pytest.mark.parametrize(("change", "words"), [
    ({"prices": {"gpt-4o": {"input": 1, "output": 2}}}, "prices: no entry for model 'smollm2'"),
    ({"scorer": "fuzzy"}, "scorer 'fuzzy' does not exist"),
    ({"model": "gpt-9", "prices": {"gpt-9": {"input": 1, "output": 2}}},
     "model 'gpt-9' is not served"),
    ({"colour": "red"}, "llm: unknown key colour"),
    ({"request": {"max_tokens": 8, "top_k": "many"}}, "rejected the request: HTTP"),
])
def test_bad_input_is_one_line_and_loses_nothing(proxy: FaultProxy, tmp_path: Path,
                                                 change: dict[str, Any], words: str) -> None:
    good = _files(tmp_path, proxy.base_url)
    metrics = yaml.safe_load(good.read_text())["metrics"]
    study = dialed.create_study("llm-file", storage=f"sqlite:///{tmp_path / 'llm.db'}",
                                metrics=metrics)
    study.enqueue({"temperature": 0.5, "system_prompt": "none"})
    study.optimize(lambda t: {"accuracy": 0.5}, n_trials=1)
    bad = _files(tmp_path, proxy.base_url, **change)
    assert bad == good
    done = invoke("run", str(bad), "--no-progress")
    assert done.exit_code != 0
    message = done.output.strip()
    assert words in message and len(message.splitlines()) == 1, message
    assert proxy.requests <= 1  # at most the one-token probe the endpoint refused
    kept = dialed.load_study("llm-file", storage=f"sqlite:///{tmp_path / 'llm.db'}")
    assert [t.metrics.get("accuracy") for t in kept.trials] == [0.5]


def test_a_suite_line_without_answer(proxy: FaultProxy, tmp_path: Path) -> None:
    path = _files(tmp_path, proxy.base_url)
    with open(tmp_path / "suite.jsonl", "a") as fh:
        fh.write(json.dumps({"id": "broken", "prompt": "What is 1 + 8?"}) + "\n")
    done = invoke("run", str(path), "--no-progress")
    assert done.exit_code != 0
    assert "line 6: no answer" in done.output and len(done.output.strip().splitlines()) == 1
    assert proxy.requests == 0
