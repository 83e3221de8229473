"""Scorers (an output against an item's answer, 0 to 1) and their aggregation over samples.

A scorer is ``score(item, output) -> float``. The built-in ones also *extract* the answer an
output gives (the number, the label, the matched text), which majority voting counts:

* ``exact``: equal to the answer (or one of a list of answers) after normalisation: case
  folded, whitespace collapsed, surrounding quotes, spaces and final punctuation removed;
* ``regex``: with ``pattern``, the first match (its group 1 if it has one) equals the
  answer after normalisation; without, the answer is a pattern searched in the output;
* ``numeric``: a number in the output (``pick``: ``first`` or ``last``, default last) within
  ``tolerance`` (absolute, default 0) or ``relative`` of the answer;
* ``json``: the output (or its first ``{...}``/``[...]`` block) is JSON valid against
  ``schema`` (the scorer's, or the item's ``metadata.schema``); when the answer is an object,
  every key of it must be equal in the output too;
* ``choice``: exactly one of ``labels`` (the scorer's, or ``metadata.labels``) occurs in
  the output as a whole word, and it is the answer;
* ``module:function`` or any Python callable ``score(item, output) -> float``.

Aggregation over the ``k`` samples of one item: ``mean`` (each sample is an answer),
``majority`` (the most frequent extracted answer, scored once) and ``pass@k`` (the unbiased
estimator of Chen et al. 2021, "Evaluating Large Language Models Trained on Code", eq. 1:
``1 - C(n - c, k) / C(n, k)`` for ``c`` correct of ``n`` samples).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialed.errors import ConfigError
from dialed.llm._suite import Item

__all__ = [
    "SCORERS",
    "Aggregation",
    "Scorer",
    "aggregate_item",
    "make_scorer",
    "normalize",
    "parse_aggregation",
]

_PUNCT = " \t\n\r\"'`.,;:!?*()[]{}"
_NUMBER = re.compile(r"[-+]?(?:\d+(?:,\d{3})*(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?")
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


def normalize(text: Any) -> str:
    """Case folded, whitespace collapsed, quotes, spaces and end punctuation stripped."""
    return " ".join(str(text).split()).casefold().strip(_PUNCT)


def _answers(answer: Any) -> list[Any]:
    return list(answer) if isinstance(answer, (list, tuple)) else [answer]


@dataclass(frozen=True)
class Scorer:
    """A named scorer: ``score(item, output)`` in [0, 1], ``extract(item, output)`` for voting."""

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)
    function: Callable[[Item, str], float] | None = None

    def score(self, item: Item, output: str) -> float:
        if self.function is not None:
            value = self.function(item, output)
            try:
                v = float(value)
            except (TypeError, ValueError):
                raise ConfigError(f"scorer {self.name}: returned {value!r}, not a number") from None
            if not math.isfinite(v):
                raise ConfigError(f"scorer {self.name}: returned {v}, not a finite number")
            return v
        return float(_SCORE[self.name](self.options, item, output))

    def extract(self, item: Item, output: str) -> str | None:
        """The answer the output gives, normalised (None: it gives none); custom scorers:
        the normalised output itself."""
        if self.function is not None or self.name not in _EXTRACT:
            return normalize(output) or None
        return _EXTRACT[self.name](self.options, item, output)


# -- the built-in scorers ---------------------------------------------------------------------
def _exact(opts: Mapping[str, Any], item: Item, output: str) -> float:
    got = normalize(output)
    return float(any(got == normalize(a) for a in _answers(item.answer)))


def _regex_extract(opts: Mapping[str, Any], item: Item, output: str) -> str | None:
    pattern = opts.get("pattern")
    if pattern is None:
        return normalize(output) or None
    m = re.search(str(pattern), output, re.S)
    if m is None:
        return None
    return normalize(m.group(1) if m.groups() else m.group(0))


def _regex(opts: Mapping[str, Any], item: Item, output: str) -> float:
    if opts.get("pattern") is None:
        return float(any(re.search(str(a), output, re.S | re.I) for a in _answers(item.answer)))
    got = _regex_extract(opts, item, output)
    return float(got is not None and any(got == normalize(a) for a in _answers(item.answer)))


def _numbers(output: str) -> list[float]:
    out = []
    for m in _NUMBER.findall(output):
        try:
            out.append(float(m.replace(",", "")))
        except ValueError:
            continue
    return out


def _numeric_extract(opts: Mapping[str, Any], item: Item, output: str) -> str | None:
    found = _numbers(output)
    if not found:
        return None
    v = found[0] if opts.get("pick", "last") == "first" else found[-1]
    return f"{v:.12g}"


def _numeric(opts: Mapping[str, Any], item: Item, output: str) -> float:
    got = _numeric_extract(opts, item, output)
    if got is None:
        return 0.0
    v = float(got)
    tol = float(opts.get("tolerance", 0.0))
    rel = float(opts.get("relative", 0.0))
    for a in _answers(item.answer):
        try:
            want = float(str(a).replace(",", ""))
        except ValueError:
            raise ConfigError(f"scorer numeric: item {item.id!r} has answer {a!r}, not a "
                              "number") from None
        if abs(v - want) <= max(tol, rel * abs(want)) + 1e-12:
            return 1.0
    return 0.0


def _json_value(output: str) -> Any:
    fenced = _FENCE.search(output)
    text = fenced.group(1) if fenced else output
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    starts = [i for i in (text.find("{"), text.find("[")) if i >= 0]
    if not starts:
        raise ValueError("no JSON")
    value, _ = json.JSONDecoder().raw_decode(text[min(starts):])
    return value


def _json(opts: Mapping[str, Any], item: Item, output: str) -> float:
    try:
        value = _json_value(output)
    except ValueError:
        return 0.0
    schema = opts.get("schema", item.metadata.get("schema"))
    if schema is not None:
        import jsonschema

        if not jsonschema.Draft202012Validator(schema).is_valid(value):
            return 0.0
    want = item.answer
    if isinstance(want, Mapping):
        return float(isinstance(value, Mapping)
                     and all(k in value and value[k] == v for k, v in want.items()))
    if isinstance(want, str):  # a JSON text, or "valid" meaning any valid value
        if want.strip().lower() == "valid":
            return 1.0
        try:
            return float(json.loads(want) == value)
        except json.JSONDecodeError:
            return 0.0
    return float(value == want)


def _json_extract(opts: Mapping[str, Any], item: Item, output: str) -> str | None:
    try:
        return json.dumps(_json_value(output), sort_keys=True)
    except ValueError:
        return None


def _labels(opts: Mapping[str, Any], item: Item) -> list[str]:
    labels = opts.get("labels", item.metadata.get("labels"))
    if not isinstance(labels, (list, tuple)) or not labels:
        raise ConfigError(f"scorer choice: no labels for item {item.id!r} (give the scorer "
                          "labels: [...] or the item metadata.labels)")
    return [str(x) for x in labels]


def _choice_extract(opts: Mapping[str, Any], item: Item, output: str) -> str | None:
    text = normalize(output)
    found = {normalize(lab) for lab in _labels(opts, item)
             if re.search(rf"(?<!\w){re.escape(normalize(lab))}(?!\w)", text)}
    return found.pop() if len(found) == 1 else None


def _choice(opts: Mapping[str, Any], item: Item, output: str) -> float:
    got = _choice_extract(opts, item, output)
    return float(got is not None and any(got == normalize(a) for a in _answers(item.answer)))


def _exact_extract(opts: Mapping[str, Any], item: Item, output: str) -> str | None:
    return normalize(output) or None


_SCORE: dict[str, Callable[[Mapping[str, Any], Item, str], float]] = {
    "exact": _exact, "regex": _regex, "numeric": _numeric, "json": _json, "choice": _choice,
}
_EXTRACT: dict[str, Callable[[Mapping[str, Any], Item, str], str | None]] = {
    "exact": _exact_extract, "regex": _regex_extract, "numeric": _numeric_extract,
    "json": _json_extract, "choice": _choice_extract,
}
_OPTIONS: dict[str, frozenset[str]] = {
    "exact": frozenset(), "regex": frozenset({"pattern"}),
    "numeric": frozenset({"tolerance", "relative", "pick"}),
    "json": frozenset({"schema"}), "choice": frozenset({"labels"}),
}
#: The built-in scorers' names.
SCORERS = tuple(_SCORE)


def make_scorer(spec: Any, base_dir: str | Path | None = None) -> Scorer:
    """A scorer from a name (``"numeric"``), a mapping (``{name: numeric, tolerance: 0.5}``),
    ``"module:function"`` (imported from ``base_dir`` first) or a callable."""
    if isinstance(spec, Scorer):
        return spec
    if callable(spec):
        return Scorer(getattr(spec, "__name__", "custom"), {}, spec)
    options: dict[str, Any] = {}
    if isinstance(spec, Mapping):
        options = {k: v for k, v in spec.items() if k != "name"}
        spec = spec.get("name")
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"scorer {spec!r}: give a name ({', '.join(SCORERS)}), "
                          "{name: ..., options}, or 'module:function'")
    if ":" in spec:
        from dialed.workflow import import_function

        return Scorer(spec, options, import_function(spec, base_dir, "scorer"))
    if spec not in _SCORE:
        raise ConfigError(f"scorer {spec!r} does not exist (valid: {', '.join(SCORERS)}, or "
                          "'module:function' for score(item, output) -> float)")
    unknown = sorted(set(options) - _OPTIONS[spec])
    if unknown:
        valid = ", ".join(sorted(_OPTIONS[spec])) or "none"
        raise ConfigError(f"scorer {spec}: unknown option {', '.join(unknown)} (valid: {valid})")
    if spec == "regex" and "pattern" in options:
        try:
            re.compile(str(options["pattern"]))
        except re.error as exc:
            raise ConfigError(f"scorer regex: pattern {options['pattern']!r} is invalid "
                              f"({exc})") from None
    if spec == "numeric" and options.get("pick", "last") not in ("first", "last"):
        raise ConfigError(f"scorer numeric: pick must be first or last, got {options['pick']!r}")
    return Scorer(spec, options)


# -- aggregation ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Aggregation:
    """How an item's samples become its score: ``mean``, ``majority`` or ``pass@k``."""

    kind: str
    k: int = 1

    @property
    def answers_per_item(self) -> int:
        """How many answers one item's samples stand for (mean: each sample is one)."""
        return 0 if self.kind == "mean" else 1

    def __str__(self) -> str:
        return f"pass@{self.k}" if self.kind == "pass" else self.kind


def parse_aggregation(spec: Any, samples: int) -> Aggregation:
    """``mean``, ``majority`` or ``pass@k`` (k at most ``samples``)."""
    text = str(spec).strip().lower()
    if text in ("mean", "majority"):
        return Aggregation(text)
    m = re.fullmatch(r"pass@(\d+)", text)
    if m is None:
        raise ConfigError(f"aggregate {spec!r} does not exist (valid: mean, majority, pass@k "
                          "such as pass@3)")
    k = int(m.group(1))
    if not 1 <= k <= samples:
        raise ConfigError(f"aggregate {spec}: k must lie between 1 and samples ({samples})")
    return Aggregation("pass", k)


def aggregate_item(how: Aggregation, scores: Sequence[float],
                   extracted: Sequence[str | None] = (),
                   score_of: Callable[[int], float] | None = None) -> float:
    """One item's score from its samples' ``scores`` (and extracted answers, for majority).

    ``majority``: the most frequent extracted answer (ties: the one seen first; no answer at
    all: 0) is scored through the score of a sample that gave it.
    """
    n = len(scores)
    if n == 0:
        return 0.0
    if how.kind == "mean":
        return float(sum(scores) / n)
    if how.kind == "pass":
        c = sum(1 for s in scores if s >= 0.5)
        k = min(how.k, n)
        if n - c < k:
            return 1.0
        return float(1.0 - math.comb(n - c, k) / math.comb(n, k))
    votes = Counter(e for e in extracted if e is not None)
    if not votes:
        return 0.0
    top = max(votes.values())
    winner = next(e for e in extracted if e is not None and votes[e] == top)
    index = list(extracted).index(winner)
    return float(scores[index])
