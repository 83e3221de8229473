"""An evaluation suite: items read from JSON lines, split into validation and a locked test part.

Each line is one JSON object::

    {"id": "add-017", "prompt": "What is 7 + 5?", "answer": "12", "metadata": {"op": "+"}}
    {"id": "sent-3", "messages": [{"role": "user", "content": "..."}], "reference": "positive"}
    {"id": "shot-1", "prompt": "What is 2 + 2?", "answer": "4", "split": "shots"}

``prompt`` (one user message) or ``messages`` (a chat); ``answer`` or ``reference`` (what the
scorer compares with: a string, a number, a list of accepted answers, or a JSON value);
``metadata`` optional; ``split`` optional: ``validation`` / ``test`` pin an item to a part,
``shots`` puts it in the few-shot pool (shown as worked examples, never scored).

The other items are split by a stored seed: an item is in the test part when a hash of
``(seed, id)`` falls below ``test_fraction``, so adding items never moves the old ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dialed._util import derive_seed
from dialed.errors import ConfigError

__all__ = ["Item", "Suite"]

_PARTS = ("validation", "test", "shots")
_KEYS = ("id", "prompt", "messages", "answer", "reference", "metadata", "split")


@dataclass(frozen=True)
class Item:
    """One suite item: its id, the chat to send, the expected answer, optional metadata."""

    id: str
    messages: tuple[Mapping[str, str], ...]
    answer: Any
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def prompt(self) -> str:
        """The last user message (the question, for few-shot examples)."""
        users = [m["content"] for m in self.messages if m.get("role") == "user"]
        return users[-1] if users else ""


@dataclass(frozen=True)
class Suite:
    """Suite items with their part (validation, test, shots), split by ``seed``."""

    items: tuple[Item, ...]
    parts: tuple[str, ...]
    seed: int = 0
    test_fraction: float = 0.3
    source: str | None = None

    # -- building --------------------------------------------------------------------------
    @classmethod
    def from_jsonl(cls, path: str | Path, *, seed: int = 0,
                   test_fraction: float = 0.3) -> Suite:
        """Read a suite; every problem is one :class:`ConfigError` naming the file and line."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"suite {path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"suite {path}: cannot be read ({exc})") from None
        records: list[Mapping[str, Any]] = []
        where: list[str] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("//"):
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"suite {path} line {number}: not JSON ({exc.msg})") from None
            records.append(rec)
            where.append(f"suite {path} line {number}")
        return cls.from_records(records, seed=seed, test_fraction=test_fraction,
                                source=str(path), where=where)

    @classmethod
    def from_records(cls, records: Sequence[Mapping[str, Any]], *, seed: int = 0,
                     test_fraction: float = 0.3, source: str | None = None,
                     where: Sequence[str] | None = None) -> Suite:
        """A suite from mappings shaped like the JSON lines (see the module's docstring)."""
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ConfigError(f"suite seed must be a whole number >= 0, got {seed!r}")
        if not isinstance(test_fraction, (int, float)) or not 0.0 < test_fraction < 1.0:
            raise ConfigError(f"suite test_fraction must lie strictly between 0 and 1, got "
                              f"{test_fraction!r}")
        items: list[Item] = []
        parts: list[str] = []
        seen: dict[str, str] = {}
        for i, rec in enumerate(records):
            label = where[i] if where is not None else f"suite item {i + 1}"
            item, part = _item(rec, label)
            if item.id in seen:
                raise ConfigError(f"{label}: id {item.id!r} repeats {seen[item.id]}")
            seen[item.id] = label
            items.append(item)
            parts.append(part or _assign(seed, item.id, test_fraction))
        if not any(p == "validation" for p in parts):
            raise ConfigError(f"suite {source or ''}: no validation item (the suite has "
                              f"{len(items)} items)".replace("suite : ", "suite: "))
        return cls(tuple(items), tuple(parts), seed, float(test_fraction), source)

    # -- parts -----------------------------------------------------------------------------
    def part(self, name: str) -> tuple[Item, ...]:
        """The items of one part: ``validation``, ``test`` or ``shots``."""
        if name not in _PARTS:
            raise ConfigError(f"suite part {name!r} does not exist (valid: {', '.join(_PARTS)})")
        return tuple(it for it, p in zip(self.items, self.parts, strict=True) if p == name)

    @property
    def validation(self) -> tuple[Item, ...]:
        return self.part("validation")

    @property
    def test(self) -> tuple[Item, ...]:
        return self.part("test")

    @property
    def shots(self) -> tuple[Item, ...]:
        return self.part("shots")

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items)

    def fingerprint(self, part: str = "validation") -> Any:
        """The data fingerprint of one part (:func:`dialed.workflow.fingerprint`): the prompts
        as the feature column, the answers as labels; ``dialed check`` compares later suites."""
        from dialed.workflow import fingerprint

        chosen = self.part(part)
        prompts = np.array([json.dumps([dict(m) for m in it.messages], sort_keys=True)
                            for it in chosen], dtype=object)
        answers = np.array([json.dumps(it.answer, sort_keys=True) for it in chosen],
                           dtype=object)
        return fingerprint(prompts, answers)

    def to_dict(self) -> dict[str, Any]:
        """How this suite was split (stored with a study)."""
        return {"source": self.source, "seed": self.seed, "test_fraction": self.test_fraction,
                **{p: len(self.part(p)) for p in _PARTS}}


def _assign(seed: int, item_id: str, test_fraction: float) -> str:
    u = derive_seed(seed, "suite-split", item_id) / float(0x80000000)
    return "test" if u < test_fraction else "validation"


def _item(rec: Any, label: str) -> tuple[Item, str | None]:
    if not isinstance(rec, Mapping):
        raise ConfigError(f"{label}: expected a JSON object with id, prompt or messages, and "
                          f"answer, got {type(rec).__name__}")
    unknown = sorted(set(rec) - set(_KEYS))
    if unknown:
        raise ConfigError(f"{label}: unknown key {', '.join(map(repr, unknown))} (valid: "
                          f"{', '.join(_KEYS)})")
    item_id = rec.get("id")
    if not isinstance(item_id, (str, int)) or isinstance(item_id, bool) or str(item_id) == "":
        raise ConfigError(f"{label}: no id (give each line a unique \"id\", a string)")
    has_prompt, has_messages = "prompt" in rec, "messages" in rec
    if has_prompt == has_messages:
        raise ConfigError(f"{label}: give either \"prompt\" (a string) or \"messages\" (a list "
                          "of {role, content}), not " + ("both" if has_prompt else "neither"))
    if has_prompt:
        if not isinstance(rec["prompt"], str) or not rec["prompt"].strip():
            raise ConfigError(f"{label}: \"prompt\" must be a non-empty string")
        messages: tuple[Mapping[str, str], ...] = ({"role": "user", "content": rec["prompt"]},)
    else:
        messages = _messages(rec["messages"], label)
    answers = [k for k in ("answer", "reference") if k in rec]
    if not answers:
        raise ConfigError(f"{label}: no answer (give \"answer\" or \"reference\": what the "
                          "scorer compares the output with)")
    if len(answers) == 2:
        raise ConfigError(f"{label}: give \"answer\" or \"reference\", not both")
    answer = rec[answers[0]]
    if answer is None or (isinstance(answer, str) and not answer.strip()):
        raise ConfigError(f"{label}: the {answers[0]} is empty")
    metadata = rec.get("metadata", {})
    if not isinstance(metadata, Mapping):
        raise ConfigError(f"{label}: \"metadata\" must be a JSON object")
    split = rec.get("split")
    if split is not None and split not in _PARTS:
        raise ConfigError(f"{label}: split {split!r} is not one of {', '.join(_PARTS)}")
    return Item(str(item_id), messages, answer, dict(metadata)), split


def _messages(raw: Any, label: str) -> tuple[Mapping[str, str], ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{label}: \"messages\" must be a non-empty list of "
                          "{\"role\": ..., \"content\": ...}")
    out = []
    for m in raw:
        if (not isinstance(m, Mapping) or m.get("role") not in ("system", "user", "assistant")
                or not isinstance(m.get("content"), str)):
            raise ConfigError(f"{label}: each message needs a role (system, user or assistant) "
                              f"and a string content, got {m!r}")
        out.append({"role": str(m["role"]), "content": str(m["content"])})
    if out[-1]["role"] != "user":
        raise ConfigError(f"{label}: the last message must be the user's (the question)")
    return tuple(out)
