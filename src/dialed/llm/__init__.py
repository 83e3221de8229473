"""Inference settings as dials: tune an OpenAI-compatible endpoint against a held-out suite.

>>> from dialed.llm import Suite, endpoint_objective
>>> suite = Suite.from_jsonl("suite.jsonl")                       # doctest: +SKIP
>>> objective = endpoint_objective("http://127.0.0.1:8080/v1", "smollm2", suite,
...     samples=3, scorer="numeric", prices={"smollm2": {"input": 0.1, "output": 0.4}},
...     space={"temperature": {"type": "float", "low": 0.0, "high": 1.5,
...                            "family": "sampling"}})      # doctest: +SKIP
>>> study.optimize(objective, n_trials=20)                        # doctest: +SKIP

The trial's parameters become the request; each validation item is sampled ``samples`` times;
the metrics are accuracy (with its 95% interval), latency p50 / p95 (ms), tokens, cost from the
prices, and the error rate. Answers are cached on disk by (endpoint, model, request, sample
index); a budget in dollars and calls stops the study cleanly; 429s and 5xx are retried
honouring ``Retry-After``; a concurrency limit per endpoint holds across the worker processes
of one machine. In a study file: an ``llm:`` section and ``dialed run`` (see
:mod:`dialed.config`). ``httpx`` is the ``llm`` extra.
"""

from __future__ import annotations

from dialed.llm._build import LLM_KEYS, NO_CACHE_ENV, endpoint_objective, from_llm_section
from dialed.llm._cache import ResponseCache, cache_key, default_cache_dir
from dialed.llm._client import Completion, EndpointClient, EndpointRejected
from dialed.llm._file import StudyFileFunction, objective, test
from dialed.llm._limits import Budget, BudgetLedger, BudgetSpent, EndpointSlots
from dialed.llm._metrics import Prices, accuracy_interval, percentile
from dialed.llm._objective import EndpointObjective, PartEvaluator
from dialed.llm._scorers import (
    SCORERS,
    Aggregation,
    Scorer,
    aggregate_item,
    make_scorer,
    normalize,
    parse_aggregation,
)
from dialed.llm._suite import Item, Suite

__all__ = [
    "LLM_KEYS",
    "NO_CACHE_ENV",
    "SCORERS",
    "Aggregation",
    "Budget",
    "BudgetLedger",
    "BudgetSpent",
    "Completion",
    "EndpointClient",
    "EndpointObjective",
    "EndpointRejected",
    "EndpointSlots",
    "Item",
    "PartEvaluator",
    "Prices",
    "ResponseCache",
    "Scorer",
    "StudyFileFunction",
    "Suite",
    "accuracy_interval",
    "aggregate_item",
    "cache_key",
    "default_cache_dir",
    "endpoint_objective",
    "from_llm_section",
    "make_scorer",
    "normalize",
    "objective",
    "parse_aggregation",
    "percentile",
    "test",
]
