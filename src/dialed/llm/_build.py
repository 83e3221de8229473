"""Building an endpoint objective from arguments or from a study file's ``llm:`` section, every
input checked (one line each) before any budget is spent."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dialed.errors import ConfigError
from dialed.llm._cache import default_cache_dir
from dialed.llm._limits import Budget
from dialed.llm._metrics import Prices
from dialed.llm._objective import EndpointObjective
from dialed.llm._scorers import Scorer, make_scorer, parse_aggregation
from dialed.llm._suite import Suite
from dialed.space import Space

__all__ = ["LLM_KEYS", "NO_CACHE_ENV", "endpoint_objective", "from_llm_section"]

#: Set (to anything but "" or "0") by ``dialed run --no-cache``: no cached answer is read or
#: written, so every call is measured (latency studies).
NO_CACHE_ENV = "DIALED_LLM_NO_CACHE"

#: The keys of a study file's ``llm:`` section.
LLM_KEYS = ("base_url", "model", "suite", "samples", "scorer", "aggregate", "prices",
            "concurrency", "timeout", "retries", "budget", "cache", "system_prompts", "request",
            "api_key_env")


def endpoint_objective(
    base_url: str,
    model: str,
    suite: Suite | str | Path,
    *,
    samples: int = 5,
    scorer: str | Mapping[str, Any] | Scorer | Callable[..., float] = "exact",
    aggregate: str = "mean",
    prices: Mapping[str, Any] | None = None,
    concurrency: int = 4,
    timeout: float = 60.0,
    retries: int = 4,
    space: Space | Mapping[str, Any] | None = None,
    system_prompts: Mapping[str, str] | None = None,
    request: Mapping[str, Any] | None = None,
    cache: bool | str | Path = True,
    budget: Budget | Mapping[str, Any] | None = None,
    ledger: str | Path | None = None,
    api_key: str | None = None,
    check: bool = True,
    base_dir: str | Path | None = None,
) -> EndpointObjective:
    """An objective for ``study.optimize`` that evaluates a suite on an OpenAI-compatible
    endpoint (see :mod:`dialed.llm`). ``space``: suggested by the objective when the study does
    not declare one. ``cache``: True (``~/.cache/dialed/llm``), a folder, or False.
    ``budget``: ``{dollars: ..., calls: ...}``, counted in ``ledger`` (default: a new file).
    ``check``: before returning, ask the endpoint for its models and probe the space's
    parameters with one call of one token, so bad input fails here, before any trial."""
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        raise ConfigError(f"base_url must be an http(s) URL such as http://127.0.0.1:8080/v1, "
                          f"got {base_url!r}")
    if not isinstance(model, str) or not model.strip():
        raise ConfigError(f"model must be the name the endpoint serves, got {model!r}")
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ConfigError(f"samples must be a whole number >= 1, got {samples!r}")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigError(f"concurrency must be a whole number >= 1, got {concurrency!r}")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ConfigError(f"retries must be a whole number >= 0, got {retries!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ConfigError(f"timeout must be a number of seconds > 0, got {timeout!r}")
    the_suite = suite if isinstance(suite, Suite) else Suite.from_jsonl(suite)
    the_scorer = make_scorer(scorer, base_dir)
    how = parse_aggregation(aggregate, samples)
    price = Prices.for_model(prices, model)
    declared = None if space is None else (space if isinstance(space, Space)
                                           else Space.from_dict(dict(space)))
    prompts = dict(system_prompts or {})
    for name, text in prompts.items():
        if not isinstance(text, str):
            raise ConfigError(f"system_prompts[{name!r}] must be text, got {text!r}")
    if request is not None and not isinstance(request, Mapping):
        raise ConfigError(f"request must map request fields to fixed values, got {request!r}")
    cap = Budget(**dict(budget)) if isinstance(budget, Mapping) else budget
    if cache is True:
        folder: str | None = str(default_cache_dir())
    elif cache is False or cache is None:
        folder = None
    else:
        folder = str(cache)
    if os.environ.get(NO_CACHE_ENV, "") not in ("", "0"):
        folder = None
    objective = EndpointObjective(
        base_url=base_url.rstrip("/"), model=model, suite=the_suite, scorer=the_scorer,
        aggregate=how, samples=samples, prices=price, concurrency=concurrency,
        timeout=float(timeout), retries=retries,
        space=None if declared is None else declared.to_dict(), system_prompts=prompts,
        request=dict(request or {}), cache_dir=folder, budget=cap,
        ledger=None if ledger is None else str(ledger), api_key=api_key,
    )
    if check:
        objective.check(declared)
    return objective


def from_llm_section(section: Any, base_dir: str | Path, *, space: Mapping[str, Any] | None,
                     ledger: str | Path | None, check: bool = True) -> EndpointObjective:
    """The objective of a study file's ``llm:`` section (paths relative to ``base_dir``)."""
    if not isinstance(section, Mapping):
        raise ConfigError("llm: must be a mapping with base_url, model and suite (valid keys: "
                          f"{', '.join(LLM_KEYS)})")
    unknown = sorted(set(section) - set(LLM_KEYS))
    if unknown:
        raise ConfigError(f"llm: unknown key {', '.join(unknown)} (valid: {', '.join(LLM_KEYS)})")
    missing = [k for k in ("base_url", "model", "suite") if k not in section]
    if missing:
        raise ConfigError(f"llm: missing {', '.join(missing)} (base_url, model and suite are "
                          "required)")
    base = Path(base_dir)
    suite_spec = section["suite"]
    if isinstance(suite_spec, Mapping):
        extra = sorted(set(suite_spec) - {"path", "seed", "test_fraction"})
        if extra or "path" not in suite_spec:
            raise ConfigError("llm.suite: a path, or {path: ..., seed: ..., test_fraction: ...}")
        the_suite = Suite.from_jsonl(base / str(suite_spec["path"]),
                                     seed=suite_spec.get("seed", 0),
                                     test_fraction=suite_spec.get("test_fraction", 0.3))
    else:
        the_suite = Suite.from_jsonl(base / str(suite_spec))
    cache = section.get("cache", True)
    if isinstance(cache, str):
        cache = base / cache
    key_env = section.get("api_key_env")
    return endpoint_objective(
        str(section["base_url"]), str(section["model"]), the_suite,
        samples=section.get("samples", 5), scorer=section.get("scorer", "exact"),
        aggregate=section.get("aggregate", "mean"), prices=section.get("prices"),
        concurrency=section.get("concurrency", 4), timeout=section.get("timeout", 60.0),
        retries=section.get("retries", 4), space=space,
        system_prompts=section.get("system_prompts"), request=section.get("request"),
        cache=cache, budget=section.get("budget"), ledger=ledger,
        api_key=os.environ.get(str(key_env)) if key_env else None, check=check,
        base_dir=base,
    )
