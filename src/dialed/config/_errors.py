"""One-line messages for a study file's problems: pydantic's errors condensed, YAML's located.

Each names the field path and what would be valid; an unknown key lists the keys of its
section (and the closest one, a level down too), found by walking the pydantic models from the
root model, so a new field needs no change here.
"""

from __future__ import annotations

import difflib
import typing
from typing import Any

import pydantic
import yaml
from pydantic import BaseModel


def yaml_problem(exc: yaml.YAMLError) -> str:
    """`` at line L, column C: problem`` (``: problem`` when YAML gives no position)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or first_line(exc)
    if mark is None:
        return f": {problem}"
    return f" at line {mark.line + 1}, column {mark.column + 1}: {problem}"


def condense(exc: pydantic.ValidationError, root: type[BaseModel]) -> str:
    """All of pydantic's errors as one line: ``field.path: what is wrong; ...``."""
    out = []
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")  # typos first
    for err in errors:
        loc = tuple(err["loc"])
        where = ".".join(str(p) for p in loc) or "(top level)"
        out.append(f"{where}: {_explain(err, loc, root)}")
    return "; ".join(dict.fromkeys(out))


def _explain(err: Any, loc: tuple[int | str, ...], root: type[BaseModel]) -> str:
    kind: str = err["type"]
    ctx: dict[str, Any] = err.get("ctx") or {}
    got = err.get("input")
    if kind == "extra_forbidden":
        valid = _valid_keys(root, loc[:-1])
        hint = _did_you_mean(str(loc[-1]), root, loc[:-1])
        listing = f"; valid keys are {', '.join(valid)}" if valid else ""
        return f"unknown key{hint}{listing}"
    if kind == "missing":
        return "is required"
    if kind == "value_error":
        return first_line(ctx.get("error", err["msg"]))
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        op = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=",
              "less_than": "<"}[kind]
        bound = next(iter(ctx.values()), "?")
        return f"must be {op} {bound}, got {got!r}"
    simple = {
        "int_type": "must be a whole number",
        "int_from_float": "must be a whole number",
        "int_parsing": "must be a whole number",
        "string_type": "must be a string",
        "bool_type": "must be true or false",
        "dict_type": "must be a mapping (key: value lines)",
        "model_type": "must be a mapping (key: value lines)",
        "model_attributes_type": "must be a mapping (key: value lines)",
        "float_type": "must be a number",
        "float_parsing": "must be a number",
    }
    if kind in simple:
        return f"{simple[kind]}, got {got!r}"
    return f"{err['msg']}, got {got!r}"


def _did_you_mean(key: str, root: type[BaseModel], section: tuple[int | str, ...]) -> str:
    """`` (did you mean 'budget.trials'?)`` for a key close to a field here or one level down."""
    candidates: dict[str, str] = {}
    for name in _valid_keys(root, section):
        candidates.setdefault(name, name)
        for sub in _valid_keys(root, (*section, name)):
            candidates.setdefault(sub, f"{name}.{sub}")
    close = difflib.get_close_matches(key, list(candidates), n=1, cutoff=0.75)
    return f" (did you mean {candidates[close[0]]!r}?)" if close else ""


def _valid_keys(root: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The field names of the section at ``loc`` (empty when it is not a section)."""
    model: type[BaseModel] | None = root
    for part in loc:
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return []
        model = _model_in(model.model_fields[part].annotation)
    return list(model.model_fields) if model is not None else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def first_line(exc: object) -> str:
    """The first line of ``exc``'s message (its type's name when it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
