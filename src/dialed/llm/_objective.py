"""The endpoint objective: a trial's parameters become the request; every item of the suite's
validation part is sampled ``samples`` times; the metrics come back to the study.

Parameters and the request: ``system_prompt`` picks one of the named ``system_prompts``;
``few_shot`` puts that many of the suite's ``shots`` items before the question as worked
examples; every other parameter (``temperature``, ``top_p``, ``top_k``, ``max_tokens``,
``presence_penalty``, ``frequency_penalty``, ``seed``, ``reasoning_effort`` ...) is sent as the
request field of that name, over the fixed ``request`` fields.

Sampling seeds: sample ``k`` of an evaluation sends ``seed = derive(s, k)``, ``s`` being the
``seed`` parameter when the space has one, else the trial's seed (fresh for each repeat, so a
confirm measures fresh samples). A request at ``temperature: 0`` carries no seed: the answer
does not depend on it, and the same call is then served from the cache wherever it recurs.

Metrics (names as returned): ``accuracy`` with ``accuracy_low`` / ``accuracy_high`` (95%,
items as the unit), ``latency_p50_ms`` / ``latency_p95_ms`` (each call from its first attempt
to its answer, retries included; a cached call keeps the latency it was measured with: use
``cache=False`` for latency studies), ``prompt_tokens`` / ``completion_tokens`` (mean per
answered call), ``cost_usd`` (this evaluation, every call priced as if paid) and
``cost_per_1k_items`` when prices are given, ``error_rate`` (calls that failed after their
retries, scored 0), ``calls``, ``cached_calls``.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
import typing
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialed._util import derive_seed
from dialed.errors import ConfigError
from dialed.llm._cache import ResponseCache, cache_key
from dialed.llm._client import Completion, EndpointClient, EndpointRejected
from dialed.llm._limits import Budget, BudgetLedger, EndpointSlots
from dialed.llm._metrics import Prices, accuracy_interval, percentile
from dialed.llm._scorers import Aggregation, Scorer, aggregate_item
from dialed.llm._suite import Item, Suite
from dialed.space import CategoricalDistribution, Distribution, Space
from dialed.trial import Trial

__all__ = ["EndpointObjective", "PartEvaluator"]

_INT_FIELDS = frozenset({"max_tokens", "top_k", "seed", "n_probs", "mirostat_mode"})
_SPECIAL = frozenset({"system_prompt", "few_shot"})
_WORST_MAX_TOKENS = 1024  # the worst case of a call without max_tokens, for the budget


@dataclass
class EndpointObjective:
    """``objective(trial) -> metrics`` for ``study.optimize``; build it with
    :func:`dialed.llm.endpoint_objective`. A plain dataclass: it pickles to worker processes
    (each opens its own HTTP client)."""

    base_url: str
    model: str
    suite: Suite
    scorer: Scorer
    aggregate: Aggregation
    samples: int = 5
    prices: Prices | None = None
    concurrency: int = 4
    timeout: float = 60.0
    retries: int = 4
    backoff: float = 0.5
    space: Mapping[str, Any] | None = None
    system_prompts: Mapping[str, str] = field(default_factory=dict)
    request: Mapping[str, Any] = field(default_factory=dict)
    cache_dir: str | None = None
    lock_dir: str = field(default_factory=lambda: str(Path(tempfile.gettempdir())
                                                      / "dialed-llm-slots"))
    budget: Budget | None = None
    ledger: str | None = None
    part: str = "validation"
    api_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.budget is not None and self.ledger is None:
            self.ledger = str(Path(tempfile.gettempdir()) / "dialed-llm-budget"
                              / f"{uuid.uuid4().hex}.json")
        self._client: EndpointClient | None = None
        self._client_pid = -1
        self._lock = threading.Lock()
        self._template_tokens = 0.0

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_client", None)
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._client = None
        self._client_pid = -1
        self._lock = threading.Lock()

    # -- the objective -----------------------------------------------------------------------
    def __call__(self, trial: Trial) -> dict[str, float]:
        if self.space:
            declared = Space.from_dict(dict(self.space))
            missing = {n: d for n, d in declared.items() if n not in trial.params}
            if missing:
                trial.suggest_space(missing)
        return self.evaluate(trial.params, trial.seed)

    def test_function(self) -> PartEvaluator:
        """``test(params, seed) -> metrics`` on the suite's locked test part
        (``dialed verify`` / :meth:`dialed.workflow.Workflow.verify`)."""
        return PartEvaluator(self, "test")

    def evaluate(self, params: Mapping[str, Any], seed: int,
                 part: str | None = None) -> dict[str, float]:
        """The metrics of one configuration on one part of the suite (validation by default)."""
        items = self.suite.part(part or self.part)
        if not items:
            raise ConfigError(f"suite part {part or self.part!r} has no items")
        calls = [(item, k, self.body(params, item, k, seed))
                 for item in items for k in range(self.samples)]
        results = self._run(calls)
        return self._metrics(items, calls, results)

    # -- the request -------------------------------------------------------------------------
    def messages(self, params: Mapping[str, Any], item: Item) -> list[dict[str, str]]:
        """The chat sent for ``item``: system prompt, few-shot examples, the item's messages."""
        out: list[dict[str, str]] = []
        name = params.get("system_prompt")
        if name is not None:
            if str(name) not in self.system_prompts:
                raise ConfigError(f"system_prompt {name!r} is not one of the named prompts "
                                  f"({', '.join(self.system_prompts) or 'none given'})")
            text = self.system_prompts[str(name)]
            if text:
                out.append({"role": "system", "content": text})
        shots = int(params.get("few_shot", 0) or 0)
        pool = self.suite.shots
        if shots > len(pool):
            raise ConfigError(f"few_shot {shots}: the suite has only {len(pool)} shots items")
        for shot in pool[:shots]:
            out.append({"role": "user", "content": shot.prompt})
            answer = shot.answer[0] if isinstance(shot.answer, (list, tuple)) else shot.answer
            out.append({"role": "assistant", "content": str(answer)})
        out.extend(dict(m) for m in item.messages)
        return out

    def body(self, params: Mapping[str, Any], item: Item, sample: int,
             seed: int) -> dict[str, Any]:
        """The request body of sample ``sample`` of ``item`` (see the module's docstring)."""
        body: dict[str, Any] = {**dict(self.request), "model": self.model,
                                "messages": self.messages(params, item)}
        for name, value in params.items():
            if name in _SPECIAL:
                continue
            body[name] = int(value) if name in _INT_FIELDS and value is not None else value
        temperature = body.get("temperature")
        if temperature is not None and float(temperature) == 0.0:
            body.pop("seed", None)
        else:
            base = int(params["seed"]) if params.get("seed") is not None else int(seed)
            body["seed"] = derive_seed(base, "sample", sample)
        return body

    # -- the calls ---------------------------------------------------------------------------
    def client(self) -> EndpointClient:
        with self._lock:
            if self._client is None or self._client_pid != os.getpid():
                self._client = EndpointClient(self.base_url, timeout=self.timeout,
                                              retries=self.retries, backoff=self.backoff,
                                              api_key=self.api_key, seed=os.getpid())
                self._client_pid = os.getpid()
            return self._client

    @staticmethod
    def _prompt_guess(body: Mapping[str, Any]) -> float:
        """Prompt tokens, guessed high: two characters a token, 8 a message, 64 more."""
        chars = sum(len(m["content"]) for m in body["messages"])
        return chars / 2.0 + 8.0 * len(body["messages"]) + 64.0

    def _worst_case(self, body: Mapping[str, Any]) -> float:
        """The most a call may cost: the prompt guessed high (plus the most a chat template
        added in this process so far) and ``max_tokens`` of completion."""
        if self.prices is None:
            return 0.0
        prompt = self._prompt_guess(body) + self._template_tokens
        completion = float(body.get("max_tokens") or _WORST_MAX_TOKENS)
        return self.prices.cost(prompt, completion)

    def call(self, body: Mapping[str, Any], sample: int) -> Completion:
        """One call: from the cache, else paid (reserved in the budget, within the slots)."""
        cache = ResponseCache(self.cache_dir) if self.cache_dir else None
        key = cache_key(self.base_url, self.model, body, sample)
        if cache is not None:
            hit = cache.get(key)
            if hit is not None:
                return Completion.from_dict(hit)
        ledger = BudgetLedger(self.ledger, self.budget) if self.budget and self.ledger else None
        worst = self._worst_case(body)
        if ledger is not None:
            ledger.reserve(worst)
        try:
            with EndpointSlots(self.lock_dir, self.base_url, self.concurrency).hold():
                done = self.client().chat(body)
        except BaseException:
            if ledger is not None:
                ledger.settle(-worst)
            raise
        if done.ok:
            self._template_tokens = max(self._template_tokens,
                                        done.prompt_tokens - self._prompt_guess(body))
        if ledger is not None:
            real = self.prices.cost(done.prompt_tokens, done.completion_tokens) \
                if self.prices is not None else 0.0
            ledger.settle(real - worst)
        if done.ok and cache is not None:
            cache.put(key, done.to_dict())
        return done

    def _run(self, calls: Sequence[tuple[Item, int, dict[str, Any]]]) -> list[Completion]:
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="dialed-llm")
        stop = threading.Event()  # a refusal or a spent budget: no further call starts

        def one(body: dict[str, Any], k: int) -> Completion:
            if stop.is_set():
                raise _Stopped
            try:
                return self.call(body, k)
            except BaseException:
                stop.set()
                raise

        try:
            futures: list[Future[Completion]] = [pool.submit(one, body, k)
                                                 for _, k, body in calls]
            finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
            if any(f.exception() is not None for f in finished):
                for f in futures:
                    f.cancel()
                wait(futures)
                raised = [f.exception() for f in futures if not f.cancelled()
                          and f.exception() is not None]
                raise typing.cast(BaseException, next(
                    (e for e in raised if not isinstance(e, _Stopped)), raised[0]))
            return [f.result() for f in futures]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    # -- the metrics -------------------------------------------------------------------------
    def _metrics(self, items: Sequence[Item], calls: Sequence[tuple[Item, int, dict[str, Any]]],
                 results: Sequence[Completion]) -> dict[str, float]:
        per_item: dict[str, tuple[list[float], list[str | None]]] = {
            it.id: ([], []) for it in items}
        for (item, _, _), done in zip(calls, results, strict=True):
            scores, extracted = per_item[item.id]
            if done.ok:
                scores.append(self.scorer.score(item, done.text))
                extracted.append(self.scorer.extract(item, done.text))
            else:
                scores.append(0.0)
                extracted.append(None)
        item_scores = [aggregate_item(self.aggregate, *per_item[it.id]) for it in items]
        acc, low, high = accuracy_interval(item_scores)
        ok = [r for r in results if r.ok]
        latencies = [r.latency_ms for r in ok]
        out = {
            "accuracy": acc, "accuracy_low": low, "accuracy_high": high,
            "latency_p50_ms": percentile(latencies, 50) if ok else 0.0,
            "latency_p95_ms": percentile(latencies, 95) if ok else 0.0,
            "prompt_tokens": sum(r.prompt_tokens for r in ok) / len(ok) if ok else 0.0,
            "completion_tokens": sum(r.completion_tokens for r in ok) / len(ok) if ok else 0.0,
            "error_rate": (len(results) - len(ok)) / len(results),
            "calls": float(len(results)),
            "cached_calls": float(sum(1 for r in results if r.cached)),
        }
        if self.prices is not None:
            cost = sum(self.prices.cost(r.prompt_tokens, r.completion_tokens) for r in ok)
            answers = len(items) * (self.samples if self.aggregate.kind == "mean" else 1)
            out["cost_usd"] = cost
            out["cost_per_1k_items"] = 1000.0 * cost / answers
        return {k: (0.0 if isinstance(v, float) and math.isnan(v) else float(v))
                for k, v in out.items()}

    # -- checks before any budget is spent ---------------------------------------------------
    def check(self, space: Space | Mapping[str, Any] | None = None, *, probe: bool = True) -> None:
        """Check the endpoint serves the model, the space's choices exist here, and (``probe``)
        that the endpoint accepts the space's parameters: one call of one token with each
        parameter at the top of its range (its first choice), its 400 text shown when not."""
        client = self.client()
        client.check_model(self.model)
        declared = space if isinstance(space, Space) or space is None \
            else Space.from_dict(dict(space))
        params = _probe_params(declared, self.system_prompts, len(self.suite.shots))
        if probe:
            body = self.body(params, self.suite.validation[0], 0, 0)
            body["max_tokens"] = 1
            done = client.chat(body)  # EndpointRejected (a ConfigError): the endpoint's text
            if not done.ok:
                raise EndpointRejected(f"endpoint {self.base_url} failed the one-token probe of "
                                       f"the space's parameters: {done.error}")


class _Stopped(Exception):
    """A call not started because another one was refused or found the budget spent."""


@dataclass
class PartEvaluator:
    """``test(params, seed) -> metrics``: an endpoint objective on another part of its suite."""

    objective: EndpointObjective
    part: str

    def __call__(self, params: Mapping[str, Any], seed: int) -> dict[str, float]:
        return self.objective.evaluate(params, seed, part=self.part)


def _probe_params(space: Space | None, prompts: Mapping[str, str],
                  shots: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, dist in (space or {}).items():
        choices = _choices(dist)
        if name == "system_prompt":
            unknown = [str(c) for c in choices if str(c) not in prompts]
            if unknown:
                raise ConfigError(f"space system_prompt: no prompt named {', '.join(unknown)} "
                                  f"(system_prompts names: {', '.join(prompts) or 'none'})")
            out[name] = choices[0] if choices else None
            continue
        if choices:
            out[name] = choices[0]
            continue
        high = getattr(dist, "high", None)
        out[name] = high
        if name == "few_shot" and high is not None and int(high) > shots:
            raise ConfigError(f"space few_shot: up to {high} examples, but the suite has only "
                              f"{shots} shots items (lines with \"split\": \"shots\")")
    return {k: v for k, v in out.items() if v is not None}


def _choices(dist: Distribution) -> list[Any]:
    return list(dist.choices) if isinstance(dist, CategoricalDistribution) else []
