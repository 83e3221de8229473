"""The HTTP client of an OpenAI-compatible endpoint: chat completions with retries, and checks.

Built on ``httpx`` rather than the ``openai`` package: the study must see every attempt (to
count a failed call in the error rate, to honour ``Retry-After`` exactly, to show a 400's text
as the endpoint wrote it, and to time each call itself), while ``openai`` retries on its own
schedule inside the call, parses into its own models and adds a dependency that itself sits on
``httpx``. Nothing here needs more than one POST and one GET.

Retries: a 429, a 5xx, a timeout, a dropped connection or a malformed body (not JSON, or no
``choices[0].message.content``) is retried up to ``retries`` times, waiting ``Retry-After``
when the endpoint sends it (seconds or an HTTP date, at most ``max_wait``), else
``backoff * 2**attempt`` seconds with seeded jitter. A 400, 401, 403, 404 or 422 is not retried:
it is :class:`EndpointRejected` with the endpoint's own text, and so is a 5xx whose text is a
request validation error (llama-cpp-python's server answers a bad parameter with a 500). A
call whose retries are spent comes back as a failed :class:`Completion` (``error`` set),
which the objective counts.
"""

from __future__ import annotations

import email.utils
import json
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from dialed.errors import ConfigError, SearchExhausted

__all__ = ["Completion", "EndpointClient", "EndpointRejected"]

_RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
#: A 5xx whose text is a request validation error (llama-cpp-python's server answers a bad
#: parameter with 500 "1 validation error: ... Input should be ..."): the request itself is
#: wrong, so it is not retried.
_VALIDATION = re.compile(r"\bvalidation errors?\b.*\b(loc|Input should)\b", re.I)


class EndpointRejected(ConfigError, SearchExhausted):
    """The endpoint refused the request itself (400, 401, 403, 404, 422): its text is shown.

    Raised before any trial by the objective's check; raised in a trial, it ends the study's
    loop as a spent budget does (the trial failed with the text, no new trial started): every
    later trial would send the same parameter and be refused too."""


@dataclass(frozen=True)
class Completion:
    """One call's outcome: the text and usage, or the error that ended its last attempt."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    attempts: int
    error: str | None = None
    cached: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, "latency_ms": self.latency_ms,
                "attempts": self.attempts}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], cached: bool = True) -> Completion:
        return cls(str(data["text"]), int(data["prompt_tokens"]),
                   int(data["completion_tokens"]), float(data["latency_ms"]),
                   int(data.get("attempts", 1)), None, cached)


class EndpointClient:
    """Chat completions against ``base_url`` (``.../v1``); one ``httpx.Client`` per process."""

    def __init__(self, base_url: str, *, timeout: float = 60.0, retries: int = 4,
                 backoff: float = 0.5, max_wait: float = 30.0, api_key: str | None = None,
                 seed: int = 0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.max_wait = float(max_wait)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(timeout=httpx.Timeout(self.timeout), headers=headers,
                                  trust_env=False)
        self._rng = random.Random(seed)

    def close(self) -> None:
        self._http.close()

    # -- checks before any budget is spent ---------------------------------------------------
    def models(self) -> list[str]:
        """The model ids the endpoint serves (``GET /models``); ConfigError when unreachable."""
        url = f"{self.base_url}/models"
        try:
            response = self._http.get(url, timeout=min(self.timeout, 10.0))
        except httpx.HTTPError as exc:
            raise ConfigError(f"endpoint {self.base_url}: unreachable ({_why(exc)}); is the "
                              "server running and base_url right (it ends in /v1)?") from None
        if response.status_code != 200:
            raise ConfigError(f"endpoint {self.base_url}: GET /models answered "
                              f"{response.status_code} ({_text(response)})")
        try:
            data = response.json()["data"]
            return [str(m["id"]) for m in data]
        except (ValueError, KeyError, TypeError):
            raise ConfigError(f"endpoint {self.base_url}: GET /models did not answer an OpenAI "
                              "model list ({\"data\": [{\"id\": ...}]})") from None

    def check_model(self, model: str) -> None:
        served = self.models()
        if model not in served:
            listed = ", ".join(served[:10]) or "none"
            raise ConfigError(f"model {model!r} is not served by {self.base_url} (it serves: "
                              f"{listed})")

    # -- one call ----------------------------------------------------------------------------
    def chat(self, body: Mapping[str, Any]) -> Completion:
        """POST ``/chat/completions`` with retries (see the module's docstring)."""
        url = f"{self.base_url}/chat/completions"
        error = "no attempt"
        started = time.perf_counter()
        for attempt in range(self.retries + 1):
            wait: float | None = None
            try:
                response = self._http.post(url, json=dict(body))
            except httpx.TimeoutException:
                error = f"timed out after {self.timeout:g} s"
            except httpx.HTTPError as exc:
                error = f"connection failed ({_why(exc)})"
            else:
                status = response.status_code
                if status == 200:
                    parsed = _parse(response)
                    if isinstance(parsed, Completion):  # latency: from the first attempt
                        total = (time.perf_counter() - started) * 1000.0
                        return Completion(parsed.text, parsed.prompt_tokens,
                                          parsed.completion_tokens, total, attempt + 1)
                    error = parsed
                elif status >= 500 and _VALIDATION.search(_text(response)):
                    raise EndpointRejected(f"endpoint {self.base_url} rejected the request: "
                                           f"HTTP {status}: {_text(response)}")
                elif status in _RETRY_STATUS or status >= 500:
                    error = f"HTTP {status} ({_text(response)})"
                    wait = _retry_after(response.headers.get("retry-after"))
                else:
                    raise EndpointRejected(f"endpoint {self.base_url} rejected the request: "
                                           f"HTTP {status}: {_text(response)}")
            if attempt < self.retries:
                time.sleep(self._delay(attempt, wait))
        total = (time.perf_counter() - started) * 1000.0
        return Completion("", 0, 0, total, self.retries + 1, error)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_wait)
        base = min(self.backoff * (2.0 ** attempt), self.max_wait)
        return base * (0.5 + 0.5 * self._rng.random())


def _parse(response: httpx.Response) -> Completion | str:
    """The completion in a 200 answer, or why the body is malformed."""
    try:
        data = response.json()
    except (ValueError, json.JSONDecodeError):
        return f"malformed body (not JSON: {response.text[:60]!r})"
    try:
        message = data["choices"][0]["message"]
        text = message.get("content")
        if text is None:
            text = ""
        if not isinstance(text, str):
            return "malformed body (choices[0].message.content is not text)"
        usage = data.get("usage") or {}
        return Completion(text, int(usage.get("prompt_tokens") or 0),
                          int(usage.get("completion_tokens") or 0), 0.0, 1)
    except (KeyError, IndexError, TypeError, AttributeError, ValueError):
        return "malformed body (no choices[0].message)"


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _text(response: httpx.Response) -> str:
    """The endpoint's error text, on one line: ``error.message`` when JSON, else the body."""
    try:
        data = response.json()
        err = data.get("error", data) if isinstance(data, dict) else data
        msg = err.get("message", err) if isinstance(err, dict) else err
        if isinstance(msg, (dict, list)):
            msg = json.dumps(msg)
        text = str(msg)
    except ValueError:
        text = response.text
    text = text.split("\n  File ")[0]  # a server's traceback after its message
    line = " ".join(text.split())
    return (line[:300] + "...") if len(line) > 300 else (line or "no text")


def _why(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
