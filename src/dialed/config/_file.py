"""The study file's schema (pydantic models that forbid unknown keys) and its reading.

The keys are described in :mod:`dialed.config`.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from dialed.analysis.tradeoff import TradeoffRule
from dialed.config._errors import condense, first_line, yaml_problem
from dialed.config._objective import SPEC, split_spec
from dialed.errors import ConfigError
from dialed.metrics import MetricSet, parse_target
from dialed.pruners import Pruner, Resource, make_pruner
from dialed.samplers import Sampler, make_sampler
from dialed.space import Space
from dialed.storage import DEFAULT_URL
from dialed.study import check_scale

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)")
_UNITS = {
    "": 1.0, "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hr": 3600.0, "hour": 3600.0, "hours": 3600.0,
    "d": 86400.0, "day": 86400.0, "days": 86400.0,
}
_DURATION_HELP = "a number of seconds or a duration such as '90s', '10m', '2h' or '1h30m'"


def parse_duration(value: Any) -> float:
    """Seconds from a number or a string such as ``"90s"``, ``"10m"``, ``"2h"``, ``"1h30m"``."""
    if isinstance(value, bool):
        raise ValueError(f"expected {_DURATION_HELP}, got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        parts = _DURATION_PART.findall(text)
        if not text or "".join(n + u for n, u in parts) != text or any(
            u not in _UNITS for _, u in parts
        ) or (len(parts) > 1 and any(not u for _, u in parts)):
            raise ValueError(f"expected {_DURATION_HELP}, got {value!r}")
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    else:
        raise ValueError(f"expected {_DURATION_HELP}, got {value!r}")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"must be more than 0 seconds, got {value!r}")
    return seconds


class _Model(BaseModel):
    """Base of the study-file sections: unknown keys are errors; values are kept as given."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Budget(_Model):
    """How long the study runs: a number of trials and / or a wall-clock timeout in seconds."""

    trials: StrictInt | None = Field(default=None, ge=1)
    timeout: float | None = None

    @pydantic.field_validator("timeout", mode="before")
    @classmethod
    def _timeout_seconds(cls, value: Any) -> float | None:
        return None if value is None else parse_duration(value)

    @pydantic.model_validator(mode="after")
    def _at_least_one(self) -> Budget:
        if self.trials is None and self.timeout is None:
            raise ValueError("give trials (a number >= 1) and / or timeout (such as '10m')")
        return self


class Strategy(_Model):
    """How the study searches: a sampler (None: the library default), a pruner, options."""

    sampler: str | None = None
    pruner: str | dict[str, Any] | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @pydantic.model_validator(mode="after")
    def _buildable(self) -> Strategy:
        if self.options and self.sampler is None:
            raise ValueError("options are the sampler's: name the sampler too "
                             "({sampler: random, options: {...}})")
        self.build_sampler(seed=None)  # unknown names and options fail here, with the file
        self.build_pruner()
        return self

    def build_sampler(self, seed: int | None) -> Sampler | None:
        """The sampler the file names, or None for the library default."""
        if self.sampler is None:
            return None
        return make_sampler(self.sampler, seed=seed, **self.options)

    def build_pruner(self) -> Pruner | None:
        return None if self.pruner is None else make_pruner(self.pruner)


class Stage(_Model):
    """One stage of the workflow: the families it tunes, its budget, an optional name."""

    families: str | list[str]
    trials: StrictInt | None = Field(default=None, ge=1)
    timeout: float | None = None
    name: str | None = None

    @pydantic.field_validator("timeout", mode="before")
    @classmethod
    def _timeout_seconds(cls, value: Any) -> float | None:
        return None if value is None else parse_duration(value)

    @pydantic.field_validator("families")
    @classmethod
    def _family_names(cls, value: str | list[str]) -> str | list[str]:
        names = [value] if isinstance(value, str) else value
        if not names or not all(n.strip() for n in names):
            raise ValueError("name one family or a list of them, such as optimizer or "
                             "[regularization, architecture]")
        return value

    @pydantic.model_validator(mode="after")
    def _budget(self) -> Stage:
        if self.trials is None and self.timeout is None:
            raise ValueError("give the stage trials (a number >= 1) and / or a timeout")
        return self


class Confirm(_Model):
    """Re-evaluate the top configurations after the search (``dialed confirm``)."""

    top: StrictInt = Field(default=3, ge=1)
    repeats: StrictInt | None = Field(default=None, ge=2)


class StudyFile(_Model):
    """One study file. Build it with :func:`load_study_file`, run it with :func:`run_study_file`."""

    study: str
    storage: str | None = None
    objective: str
    metrics: dict[str, str] = Field(default_factory=lambda: {"value": "minimize"})
    space: dict[str, Any] | None = None
    budget: Budget
    strategy: Strategy = Field(default_factory=Strategy)
    resource: dict[str, Any] | None = None
    scale: dict[str, float] | None = None
    seed: StrictInt | None = Field(default=None, ge=0)
    n_jobs: StrictInt = Field(default=1, ge=1)
    catch: StrictBool = True
    max_retries: StrictInt = Field(default=0, ge=0)
    artifacts: str | None = None
    baseline: dict[str, Any] | None = None
    targets: list[str] | None = None
    repeats: StrictInt | None = Field(default=None, ge=2)
    stages: list[Stage] | None = None
    confirm: Confirm | None = None
    test: str | None = None
    data: str | None = None
    tradeoff: dict[str, Any] | str | None = None
    llm: dict[str, Any] | None = None

    _source: Path | None = pydantic.PrivateAttr(default=None)

    @pydantic.model_validator(mode="before")
    @classmethod
    def _llm_functions(cls, data: Any) -> Any:
        """With ``llm:``, the objective and the locked test default to dialed.llm's, which
        evaluate the section's suite on its endpoint (checked by dialed.llm when run)."""
        if isinstance(data, dict) and isinstance(data.get("llm"), dict):
            data = {"objective": "dialed.llm:objective", "test": "dialed.llm:test", **data}
        return data

    @pydantic.field_validator("study")
    @classmethod
    def _study_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must be a non-empty name such as 'svc-digits'")
        return value

    @pydantic.field_validator("objective")
    @classmethod
    def _objective_spec(cls, value: str) -> str:
        split_spec(value)
        return value

    @pydantic.field_validator("metrics")
    @classmethod
    def _metric_specs(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("name at least one metric, such as {val_loss: minimize}")
        MetricSet(value)
        return value

    @pydantic.field_validator("space")
    @classmethod
    def _space_specs(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            Space.from_dict(value)
        return value

    @pydantic.field_validator("resource")
    @classmethod
    def _resource_spec(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            Resource.from_spec(value)
        return value

    @pydantic.field_validator("scale", mode="before")
    @classmethod
    def _scale_spec(cls, value: Any) -> Any:
        if value is not None:
            try:
                check_scale(value, "")
            except ConfigError as exc:
                raise ValueError(str(exc).split(": ", 1)[1]) from None
        return value

    @pydantic.field_validator("strategy", mode="before")
    @classmethod
    def _strategy_name(cls, value: Any) -> Any:
        return {"sampler": value} if isinstance(value, str) else value

    @pydantic.field_validator("baseline")
    @classmethod
    def _whole_configuration(
        cls, value: dict[str, Any] | None, info: pydantic.ValidationInfo
    ) -> dict[str, Any] | None:
        declared = info.data.get("space")
        if value is None or not declared:
            return value
        space = Space.from_dict(declared)
        unknown = sorted(set(value) - set(space))
        if unknown:
            raise ValueError(f"{', '.join(unknown)} not in the space (its parameters are "
                             f"{', '.join(space)})")
        missing = [n for n in space if n not in value]
        if missing:
            raise ValueError(f"no value for {', '.join(missing)}; a baseline is a whole "
                             "configuration (name every parameter of the space)")
        space.validate(value)
        return value

    @pydantic.field_validator("targets")
    @classmethod
    def _target_specs(cls, value: list[str] | None,
                      info: pydantic.ValidationInfo) -> list[str] | None:
        metrics = info.data.get("metrics") or {}
        for text in value or []:
            target = parse_target(text)
            if metrics and target.metric not in metrics:
                raise ValueError(f"target {text!r}: no metric {target.metric!r} (the metrics "
                                 f"are {', '.join(metrics)})")
        return value

    @pydantic.field_validator("stages")
    @classmethod
    def _stage_families(cls, value: list[Stage] | None,
                        info: pydantic.ValidationInfo) -> list[Stage] | None:
        if not value:
            return value
        if "baseline" in info.data and info.data["baseline"] is None:  # (absent: it was invalid)
            raise ValueError("stages start from a baseline: add 'baseline:' with a whole "
                             "configuration")
        declared = info.data.get("space")
        if declared:
            known = {d.family for d in Space.from_dict(declared).values() if d.family}
            for stage in value:
                names = [stage.families] if isinstance(stage.families, str) else stage.families
                unknown = [n for n in names if n not in known]
                if unknown:
                    raise ValueError(f"family {', '.join(unknown)} has no parameter in the "
                                     f"space (its families are {', '.join(sorted(known))})")
        return value

    @pydantic.field_validator("tradeoff")
    @classmethod
    def _tradeoff_rule(cls, value: dict[str, Any] | str | None,
                       info: pydantic.ValidationInfo) -> dict[str, Any] | str | None:
        if value is not None:
            metrics = info.data.get("metrics")
            TradeoffRule.parse(value, MetricSet(metrics) if metrics else None)
        return value

    @pydantic.field_validator("test", "data")
    @classmethod
    def _function_spec(cls, value: str | None) -> str | None:
        if value is not None and SPEC.match(value) is None:
            raise ValueError(f"{value!r} is not of the form 'module:function'")
        return value

    @property
    def uses_workflow(self) -> bool:
        """Whether the file names any workflow key (then ``dialed run`` runs the workflow)."""
        return any(v is not None for v in (self.baseline, self.targets, self.repeats,
                                           self.stages, self.confirm, self.test, self.data))

    @property
    def source(self) -> Path | None:
        """The file this was read from (None when built in code)."""
        return self._source

    @property
    def base_dir(self) -> Path:
        """Where the objective's module is looked for first: the study file's directory."""
        return self._source.parent if self._source is not None else Path.cwd()

    @property
    def storage_url(self) -> str:
        """The storage the file names (default :data:`~dialed.storage.DEFAULT_URL`), a relative
        SQLite path taken beside the file: the CLI and a script reading the file open the same
        database wherever they are started from."""
        return beside(self.storage or DEFAULT_URL, self.base_dir)

    @property
    def artifacts_url(self) -> str | None:
        """Where trials' checkpoints and files go: the folder or fsspec URL the file names (a
        relative folder taken beside the file), None for the default beside the SQLite file."""
        if self.artifacts is None or "://" in self.artifacts:
            return self.artifacts
        folder = Path(self.artifacts).expanduser()
        return str(folder if folder.is_absolute() else (self.base_dir / folder).resolve())

    @property
    def metric_set(self) -> MetricSet:
        return MetricSet(self.metrics)

    @property
    def search_space(self) -> Space | None:
        return None if self.space is None else Space.from_dict(self.space)


def beside(url: str, folder: Path) -> str:
    """``url``, an SQLite URL with a relative path made absolute under ``folder``."""
    if not url.startswith("sqlite:///") or url.startswith("sqlite:////"):
        return url
    path, sep, query = url[len("sqlite:///"):].partition("?")
    if not path or path == ":memory:" or path.startswith("file:") or Path(path).is_absolute():
        return url
    return f"sqlite:///{(folder / path).resolve()}{sep}{query}"


# -- reading ----------------------------------------------------------------------------------
def load_study_file(path: str | Path) -> StudyFile:
    """Read and check a study file; every problem is one :class:`ConfigError` line."""
    path = Path(path)
    where = f"study file {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{where}: is a directory, not a YAML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot be read ({first_line(exc)})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: invalid YAML{yaml_problem(exc)}") from None
    if data is None:
        raise ConfigError(f"{where}: the file is empty; it needs at least study, objective "
                          "and budget")
    if not isinstance(data, dict):
        raise ConfigError(
            f"{where}: expected a mapping of keys ({', '.join(StudyFile.model_fields)}), "
            f"got {type(data).__name__}"
        )
    try:
        cfg = StudyFile.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ConfigError(f"{where}: {condense(exc, StudyFile)}") from None
    cfg._source = path
    return cfg
