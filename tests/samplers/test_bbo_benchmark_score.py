"""The bbo benchmark's scoring follows bayesmark's normalised score and compares what it is told."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
score_mod = pytest.importorskip("benchmarks.bbo.score")


def _rec(method: str, problem: str, seed: int, losses: list[float | None]) -> dict[str, Any]:
    return {"method": method, "problem": problem, "seed": seed, "iters": 2, "batch": 2,
            "losses": losses, "n_ask": 4, "ask_s": 0.004, "ask_cpu_s": 0.004, "tell_s": 0.0,
            "eval_cpu_s": 1.0, "dialed": "abc1234", "info": None}


def test_normalised_score_uses_opt_and_the_random_median() -> None:
    recs = [
        _rec("random", "p", 0, [4.0, 6.0, 8.0, 10.0]),  # clip = median 7
        _rec("a", "p", 0, [5.0, 9.0, 2.0, 3.0]),  # best 5 then 2; opt = 2
        _rec("b", "p", 0, [None, 7.0, 6.0, 6.5]),  # a failed evaluation counts as inf
    ]
    s = score_mod.score(recs)
    opt = s.opt[("p", 0)]
    assert opt < 2.0 and opt == pytest.approx(2.0)
    assert s.clip[("p", 0)] == 7.0
    np.testing.assert_allclose(s.normalized["a"][0], [(5 - 2) / 5, 0.0], atol=1e-9)
    np.testing.assert_allclose(s.normalized["b"][0], [1.0, (6 - 2) / 5], atol=1e-9)
    # random: best 4 after the first batch and the second; clipped to [-1, 1]
    np.testing.assert_allclose(s.normalized["random"][0], [0.4, 0.4], atol=1e-9)
    assert s.score("a") == pytest.approx(100.0, abs=1e-6)
    assert s.score("b") == pytest.approx(100 * (1 - 0.8), abs=1e-6)


def test_a_cell_missing_a_method_is_dropped_unless_the_comparison_leaves_it_out() -> None:
    recs = [
        _rec("random", "p", 0, [4.0, 6.0, 8.0, 10.0]),
        _rec("a", "p", 0, [5.0, 9.0, 2.0, 3.0]),
        _rec("b", "p", 0, [7.0, 7.0, 6.0, 6.5]),
        _rec("random", "p", 1, [4.0, 6.0, 8.0, 10.0]),
        _rec("a", "p", 1, [3.0, 9.0, 9.0, 9.0]),  # no "b" on seed 1
    ]
    every = score_mod.score(recs)
    assert every.cells == [("p", 0)]
    assert any("seed 1" in d and "missing b" in d for d in every.dropped)
    subset = score_mod.score(recs, methods=["a", "random"])
    assert subset.cells == [("p", 0), ("p", 1)]
    assert subset.methods == ["a", "random"]
    assert "b" not in subset.normalized


def test_a_method_left_out_of_the_comparison_does_not_move_opt() -> None:
    recs = [
        _rec("random", "p", 0, [4.0, 6.0, 8.0, 10.0]),
        _rec("a", "p", 0, [5.0, 9.0, 2.0, 3.0]),
        _rec("b", "p", 0, [1.0, 1.0, 1.0, 1.0]),  # better than "a", but not compared
    ]
    every = score_mod.score(recs)
    assert every.opt[("p", 0)] == pytest.approx(1.0) and every.score("a") < 100.0
    subset = score_mod.score(recs, methods=["a", "random"])
    assert subset.opt[("p", 0)] == pytest.approx(2.0)
    assert subset.score("a") == pytest.approx(100.0, abs=1e-6)


def test_scoring_without_random_search_is_refused() -> None:
    with pytest.raises(ValueError, match="random"):
        score_mod.score([_rec("a", "p", 0, [1.0, 2.0, 3.0, 4.0])])


def test_run_compares_only_the_methods_named(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    run = pytest.importorskip("benchmarks.bbo.run")
    monkeypatch.setattr(run, "RAW", tmp_path)
    raw = tmp_path / "t.jsonl"
    problem = "kNN-iris-acc"
    lines = [_rec(m, problem, s, [4.0, 6.0, 8.0, 10.0] if m == "random" else [5.0, 2, 3, 4])
             for m in ("random", "dialed-auto", "optuna-tpe") for s in (0, 1)]
    lines.append(_rec("hyperopt-tpe", problem, 0, [3.0, 3, 3, 3]))  # seed 0 only
    import json

    raw.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    report = tmp_path / "r.md"
    argv = ["--problems", problem, "--seeds", "2", "--iters", "2", "--batch", "2", "--tag",
            "t", "--score-only", "--report", str(report)]
    assert run.main(argv) == 0
    text_all = report.read_text()  # every method: hyperopt-tpe ran seed 0 only
    assert "(1 cells)" in text_all and "hyperopt-tpe |" in text_all
    assert run.main([*argv, "--compare", "random,dialed-auto,optuna-tpe"]) == 0
    text = report.read_text()
    assert "(2 cells)" in text and "hyperopt-tpe |" not in text
