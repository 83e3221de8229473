"""dialed.llm against the real llama.cpp server (SmolLM2-135M), through a fault-injecting proxy:
the metrics, the cache, the concurrency limit, retries, the budget cap, and bad input."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import httpx
import pytest

import dialed
from dialed.errors import ConfigError
from dialed.llm import (
    Budget,
    BudgetLedger,
    BudgetSpent,
    EndpointRejected,
    Suite,
    endpoint_objective,
    make_scorer,
)

from ._proxy import FaultProxy
from .conftest import MODEL

QUESTIONS = [("What is 2 + 2?", "4"), ("What is 3 + 5?", "8"), ("What is 10 - 3?", "7"),
             ("What is 6 * 7?", "42"), ("What is 9 + 1?", "10"), ("What is 12 - 4?", "8")]
PRICES = {MODEL: {"input": 2.0, "output": 10.0}}
GREEDY = {"temperature": 0.0, "max_tokens": 8}


def _suite(n: int = 4) -> Suite:
    rows: list[dict[str, Any]] = [{"id": f"q{i}", "prompt": q, "answer": a, "split": "validation"}
                                  for i, (q, a) in enumerate(QUESTIONS[:n])]
    rows.append({"id": "t0", "prompt": "What is 5 + 5?", "answer": "10", "split": "test"})
    return Suite.from_records(rows)


def _objective(target: FaultProxy | str, tmp_path: Path, **kw: Any) -> Any:
    """An objective on the proxy (its counters reset after the objective's check) or a URL."""
    url = target.base_url if isinstance(target, FaultProxy) else target
    args: dict[str, Any] = {"samples": 2, "scorer": "numeric", "prices": PRICES,
                            "cache": tmp_path / "cache", "concurrency": 2, "timeout": 60.0,
                            "request": {"max_tokens": 8}}
    args.update(kw)
    suite = args.pop("suite", None) or _suite()
    built = endpoint_objective(url, MODEL, suite, **args)
    if isinstance(target, FaultProxy):
        target.reset()
    return built


def test_metrics_match_the_calls_made_by_hand(proxy: FaultProxy, tmp_path: Path) -> None:
    obj = _objective(proxy, tmp_path, cache=False)
    params = {"temperature": 0.0, "max_tokens": 8, "top_p": 0.9}  # greedy: reproducible
    metrics = obj.evaluate(params, seed=11)
    assert proxy.forwarded == 8  # 4 items x 2 samples
    # the same requests, sent by hand: the same (greedy) answers, scored by hand
    scorer = make_scorer("numeric")
    items = obj.suite.validation
    scores, prompt, completion = [], [], []
    for item in items:
        per = []
        for k in range(2):
            body = obj.body(params, item, k, 11)
            data = httpx.post(f"{proxy.base_url}/chat/completions", json=body,
                              timeout=60.0, trust_env=False).json()
            per.append(scorer.score(item, data["choices"][0]["message"]["content"]))
            prompt.append(data["usage"]["prompt_tokens"])
            completion.append(data["usage"]["completion_tokens"])
        scores.append(sum(per) / 2)
    assert metrics["accuracy"] == pytest.approx(sum(scores) / len(scores))
    assert metrics["accuracy_low"] <= metrics["accuracy"] <= metrics["accuracy_high"]
    assert metrics["calls"] == 8 and metrics["error_rate"] == 0.0
    assert metrics["cached_calls"] == 0
    assert metrics["prompt_tokens"] == pytest.approx(sum(prompt) / 8)
    assert metrics["completion_tokens"] == pytest.approx(sum(completion) / 8)
    cost = (sum(prompt) * 2.0 + sum(completion) * 10.0) / 1e6
    assert metrics["cost_usd"] == pytest.approx(cost)
    assert metrics["cost_per_1k_items"] == pytest.approx(1000 * cost / 8)
    assert 0 < metrics["latency_p50_ms"] <= metrics["latency_p95_ms"]


def test_the_cache_answers_repeated_calls(proxy: FaultProxy, tmp_path: Path) -> None:
    uncached = _objective(proxy, tmp_path, cache=False)
    obj = _objective(proxy, tmp_path)
    first = obj.evaluate({"temperature": 0.8}, seed=5)
    paid = proxy.forwarded
    assert first["cached_calls"] == 0 and paid == 8
    second = obj.evaluate({"temperature": 0.8}, seed=5)
    assert proxy.forwarded == paid  # nothing paid twice
    assert second["cached_calls"] == 8 and second["accuracy"] == first["accuracy"]
    fresh = obj.evaluate({"temperature": 0.8}, seed=6)  # fresh seeds: new calls
    assert fresh["cached_calls"] == 0 and proxy.forwarded == 2 * paid
    # greedy requests carry no seed: the same calls whatever the trial's seed
    obj.evaluate(GREEDY, seed=1)
    before = proxy.forwarded
    assert obj.evaluate(GREEDY, seed=2)["cached_calls"] == 8 and proxy.forwarded == before
    uncached.evaluate({"temperature": 0.8}, seed=5)
    assert proxy.forwarded == before + 8


def _evaluate_in_process(obj: Any, seed: int) -> float:
    return float(obj.evaluate({"temperature": 0.9, "max_tokens": 6}, seed=seed)["calls"])


def test_concurrency_limit_holds_across_processes(proxy: FaultProxy, tmp_path: Path) -> None:
    obj = _objective(proxy, tmp_path, cache=False, concurrency=2,
                     suite=_suite(6))
    obj.lock_dir = str(tmp_path / "slots")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        calls = pool.starmap(_evaluate_in_process, [(obj, 1), (obj, 2)])
    assert calls == [12.0, 12.0] and proxy.requests == 24
    # each process alone would run 2 at once; together they never pass the shared limit
    assert proxy.max_in_flight == 2


def test_retries_honour_retry_after_and_count_failures(server: str, tmp_path: Path) -> None:
    proxy = FaultProxy(server.removesuffix("/v1"), hang_s=40.0, retry_after="1")
    try:
        obj = _objective(proxy, tmp_path, cache=False, concurrency=1, samples=1,
                         retries=4, timeout=20.0)  # a real call: 1-3 s here, busy
        proxy.inject("429", "500", "malformed", "timeout")  # all on the first call
        metrics = obj.evaluate(GREEDY, seed=0)
        assert metrics["error_rate"] == 0.0 and metrics["calls"] == 4
        assert (proxy.requests, proxy.forwarded) == (4 + 4, 4)
        assert proxy.times[1] - proxy.times[0] >= 0.95  # Retry-After: 1 was honoured
        # a call whose retries are spent fails, is scored 0 and counted in the error rate
        proxy.reset()
        proxy.inject("500", "500", "500", "500", "500")
        failed = obj.evaluate(GREEDY, seed=0)
        assert (proxy.requests, proxy.forwarded) == (5 + 3, 3)
        assert failed["error_rate"] == pytest.approx(1 / 4)
        lost = metrics["accuracy"] - failed["accuracy"]  # the failed item's score, 0 or 1/4
        assert lost == pytest.approx(0.0) or lost == pytest.approx(0.25)
    finally:
        proxy.close()


def test_budget_cap_stops_the_study_cleanly(proxy: FaultProxy, tmp_path: Path) -> None:
    obj = _objective(proxy, tmp_path, cache=tmp_path / "c2", samples=1,
                     budget=Budget(calls=10), ledger=tmp_path / "ledger.json",
                     space={"temperature": {"type": "float", "low": 0.1, "high": 1.2}})
    study = dialed.create_study("budget", metrics={"accuracy": "maximize"}, seed=3)
    study.optimize(obj, n_trials=10, catch=(Exception,))  # returns: the study stopped cleanly
    states = [t.state.name for t in study.trials]
    assert states == ["COMPLETE", "COMPLETE", "FAILED"]  # 4 calls each: the third is cut
    assert "budget spent: 10 of 10 calls" in (study.trials[-1].error or "")
    assert proxy.forwarded == 10
    assert study.trials[0].metrics["accuracy"] >= 0.0  # what was stored is intact
    # a later study on the same ledger pays nothing; cached answers stay free
    again = dialed.create_study("budget2", metrics={"accuracy": "maximize"}, seed=3)
    again.optimize(obj, n_trials=2, catch=(Exception,))
    assert [t.state.name for t in again.trials] == ["COMPLETE", "COMPLETE"]
    assert proxy.forwarded == 10


def test_dollar_cap(proxy: FaultProxy, tmp_path: Path) -> None:
    obj = _objective(proxy, tmp_path, cache=False, samples=1,
                     prices={MODEL: {"input": 1000.0, "output": 1000.0}},
                     budget={"dollars": 0.12}, ledger=tmp_path / "dollars.json")
    with pytest.raises(BudgetSpent, match=r"budget spent: \$0\.\d+ of \$0\.12"):
        obj.evaluate(GREEDY, seed=0)
    assert 1 <= proxy.forwarded < 4
    calls, dollars = BudgetLedger(tmp_path / "dollars.json", Budget(dollars=0.12)).spent()
    assert calls == proxy.forwarded and 0 < dollars <= 0.12


def test_bad_input_is_one_line_before_any_call(proxy: FaultProxy, tmp_path: Path) -> None:
    with socket_closed() as port, pytest.raises(ConfigError, match="unreachable") as info:
        _objective(f"http://127.0.0.1:{port}/v1", tmp_path)
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match=r"model .gpt-9. is not served by .* \(it serves: "
                                          r"smollm2\)"):
        endpoint_objective(proxy.base_url, "gpt-9", _suite())
    with pytest.raises(ConfigError, match="prices: no entry for model 'smollm2'"):
        _objective(proxy, tmp_path, prices={"gpt": {"input": 1, "output": 1}})
    with pytest.raises(ConfigError, match="scorer 'fuzzy' does not exist"):
        _objective(proxy, tmp_path, scorer="fuzzy")
    with pytest.raises(EndpointRejected, match=r"rejected the request: HTTP \d+: .*top_p"
                                               r".*Input should be a valid number") as bad:
        _objective(proxy, tmp_path,
                   space={"top_p": {"type": "categorical", "choices": ["wide"]}})
    assert "\n" not in str(bad.value)
    assert proxy.requests == 1  # only the probe (one token), refused; nothing else was sent


class socket_closed:
    """A loopback port with nothing listening."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        return None


def test_a_rejected_parameter_in_a_trial_stops_the_study(proxy: FaultProxy,
                                                         tmp_path: Path) -> None:
    obj = _objective(proxy, tmp_path, check=False)
    study = dialed.create_study("reject", metrics={"accuracy": "maximize"}, seed=0)
    study.optimize(lambda t: obj.evaluate({"top_p": "wide"}, t.seed), n_trials=3,
                   catch=(Exception,))  # even caught, the refusal ends the study
    assert [t.state.name for t in study.trials] == ["FAILED"]
    assert "rejected the request: HTTP" in (study.trials[0].error or "")
    assert proxy.forwarded <= 2  # the calls already in flight (concurrency 2), no more
