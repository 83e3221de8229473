"""The declarative study file: what to tune, how to measure it, and how long to search.

A study file is YAML read into :class:`StudyFile`, pydantic models that forbid unknown keys,
so ``trails: 40`` is an error naming the key and the valid ones. Every problem the file can
have becomes one :class:`~dialed.errors.ConfigError` line naming the file, the field path and
what would be valid::

    study: svc-digits                      # required: the study's name in the storage
    storage: sqlite:///dialed.db           # optional (the command line's --storage wins)
    objective: quickstart:objective        # required: module:function, beside the file
    metrics: {val_loss: minimize, val_acc: track}
    space:
      C: {type: float, low: 0.01, high: 1000, log: true, family: regularization}
    budget: {trials: 40, timeout: 10m}     # at least one of them
    strategy: random                       # or {sampler: ..., pruner: ..., options: {...}}
    resource: {name: epochs, min: 1, max: 81, reduction_factor: 3}   # for early stopping
    seed: 0
    n_jobs: 2
    catch: true                            # a failing trial is recorded; the study goes on
    max_retries: 0
    tradeoff: {rule: best, metric: val_acc, bounds: {latency_ms: "<= 20"}}   # several objectives:
                                           # how to pick one (or {rule: weighted, weights: ...})

The tuning workflow (``dialed.workflow``) adds optional keys; with any of them, ``dialed run``
runs the workflow: the baseline first, then the stages (or one search of the budget), then
confirm::

    baseline: {C: 1.0, gamma: 0.001}       # a whole configuration, evaluated `repeats` times
    targets: ["val_acc >= 0.97"]           # goals the summaries measure distance to
    repeats: 5                             # seeds per evaluation (default 3)
    stages:                                # one family (or a named group) at a time
      - {families: optimizer, trials: 20}
      - {name: model, families: [regularization, architecture], trials: 20}
    confirm: {top: 3, repeats: 5}          # re-evaluate the top configurations
    test: evaluate:test                    # test(params, seed) -> metrics, run by dialed verify
    data: evaluate:data                    # data() -> (X, y), fingerprinted into the study

New top-level keys are new fields of :class:`StudyFile`; the error condensing and the
"valid keys" lists follow the models without further changes.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import math
import re
import sys
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from dialed.analysis.tradeoff import TradeoffRule, recommend, record_rule
from dialed.errors import ConfigError, DialedError, NoTrialsError
from dialed.metrics import MetricSet, parse_target
from dialed.pruners import Pruner, Resource, make_pruner
from dialed.samplers import Sampler, make_sampler
from dialed.space import Space
from dialed.storage import DEFAULT_URL
from dialed.study import Study, create_study
from dialed.trial import Trial

__all__ = [
    "STUDY_FILE_ATTR",
    "Budget",
    "Confirm",
    "Stage",
    "Strategy",
    "StudyFile",
    "import_objective",
    "load_study_file",
    "parse_duration",
    "recorded_objective",
    "run_study_file",
]

_SPEC = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*:\s*([A-Za-z_][\w.]*)\s*$")
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
    seed: StrictInt | None = Field(default=None, ge=0)
    n_jobs: StrictInt = Field(default=1, ge=1)
    catch: StrictBool = True
    max_retries: StrictInt = Field(default=0, ge=0)
    baseline: dict[str, Any] | None = None
    targets: list[str] | None = None
    repeats: StrictInt | None = Field(default=None, ge=2)
    stages: list[Stage] | None = None
    confirm: Confirm | None = None
    test: str | None = None
    data: str | None = None
    tradeoff: dict[str, Any] | str | None = None

    _source: Path | None = pydantic.PrivateAttr(default=None)

    @pydantic.field_validator("study")
    @classmethod
    def _study_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must be a non-empty name such as 'svc-digits'")
        return value

    @pydantic.field_validator("objective")
    @classmethod
    def _objective_spec(cls, value: str) -> str:
        _split_spec(value)
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
        if value is not None and _SPEC.match(value) is None:
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
    def metric_set(self) -> MetricSet:
        return MetricSet(self.metrics)

    @property
    def search_space(self) -> Space | None:
        return None if self.space is None else Space.from_dict(self.space)


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
        raise ConfigError(f"{where}: cannot be read ({_first_line(exc)})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: invalid YAML{_yaml_problem(exc)}") from None
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
        raise ConfigError(f"{where}: {_condense(exc)}") from None
    cfg._source = path
    return cfg


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or _first_line(exc)
    if mark is None:
        return f": {problem}"
    return f" at line {mark.line + 1}, column {mark.column + 1}: {problem}"


def _condense(exc: pydantic.ValidationError) -> str:
    """All of pydantic's errors as one line: ``field.path: what is wrong; ...``."""
    out = []
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")  # typos first
    for err in errors:
        loc = tuple(err["loc"])
        where = ".".join(str(p) for p in loc) or "(top level)"
        out.append(f"{where}: {_explain(err, loc)}")
    return "; ".join(dict.fromkeys(out))


def _explain(err: Any, loc: tuple[int | str, ...]) -> str:
    kind: str = err["type"]
    ctx: dict[str, Any] = err.get("ctx") or {}
    got = err.get("input")
    if kind == "extra_forbidden":
        valid = _valid_keys(loc[:-1])
        hint = _did_you_mean(str(loc[-1]), loc[:-1])
        listing = f"; valid keys are {', '.join(valid)}" if valid else ""
        return f"unknown key{hint}{listing}"
    if kind == "missing":
        return "is required"
    if kind == "value_error":
        return _first_line(ctx.get("error", err["msg"]))
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


def _did_you_mean(key: str, section: tuple[int | str, ...]) -> str:
    """`` (did you mean 'budget.trials'?)`` for a key close to a field here or one level down."""
    candidates: dict[str, str] = {}
    for name in _valid_keys(section):
        candidates.setdefault(name, name)
        for sub in _valid_keys((*section, name)):
            candidates.setdefault(sub, f"{name}.{sub}")
    close = difflib.get_close_matches(key, list(candidates), n=1, cutoff=0.75)
    return f" (did you mean {candidates[close[0]]!r}?)" if close else ""


def _valid_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The field names of the section at ``loc`` (empty when it is not a section)."""
    model: type[BaseModel] | None = StudyFile
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


def _first_line(exc: object) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# -- the objective ----------------------------------------------------------------------------
def _split_spec(spec: Any) -> tuple[str, str]:
    m = _SPEC.match(spec) if isinstance(spec, str) else None
    if m is None:
        raise ConfigError(
            f"objective {spec!r} is not of the form 'module:function' "
            "(for example 'train:objective' for def objective(trial) in train.py)"
        )
    return m.group(1), m.group(2)


def import_objective(spec: str, base_dir: Path) -> Callable[[Trial], Any]:
    """Import ``"module:function"``, looking in ``base_dir`` and the current directory first."""
    module_name, attr_path = _split_spec(spec)
    for folder in (str(Path.cwd()), str(Path(base_dir).resolve())):
        if folder in sys.path:
            sys.path.remove(folder)
        sys.path.insert(0, folder)  # base_dir ends up first, then the current directory
    importlib.invalidate_caches()
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ConfigError(
            f"objective {spec!r}: cannot import module {module_name!r} "
            f"({type(exc).__name__}: {_first_line(exc)}); looked in {base_dir} and the "
            "current directory first"
        ) from None
    target: Any = module
    for i, part in enumerate(attr_path.split(".")):
        if not hasattr(target, part):
            owner = module_name if i == 0 else f"{module_name}:{'.'.join(attr_path.split('.')[:i])}"
            options = _callables(target)
            hint = f"; callables there: {', '.join(options)}" if options else ""
            raise ConfigError(f"objective {spec!r}: {owner!r} has no attribute {part!r}{hint}")
        target = getattr(target, part)
    if not callable(target):
        raise ConfigError(
            f"objective {spec!r}: {attr_path!r} is a {type(target).__name__}, not a function "
            "of trial"
        )
    return typing.cast(Callable[[Trial], Any], target)


def _callables(owner: Any) -> list[str]:
    names = [
        n for n, v in vars(owner).items()
        if not n.startswith("_") and callable(v) and not isinstance(v, type)
        and (not isinstance(owner, types.ModuleType)
             or getattr(v, "__module__", None) == owner.__name__)
    ]
    return sorted(names)[:10]


class _SpaceFirst:
    """An objective that suggests the declared space, then calls the user's function.

    ``trial.params`` then holds the whole configuration before the user's code runs; it may
    still suggest more parameters (conditional ones, say). A plain class, so it pickles.
    """

    def __init__(self, space: Space, objective: Callable[[Trial], Any]) -> None:
        self.space = space
        self.objective = objective

    def __call__(self, trial: Trial) -> Any:
        trial.suggest_space(self.space)
        return self.objective(trial)


#: The study attribute in which :func:`run_study_file` records what a worker on any machine
#: needs to run the study's trials: the objective, the study file's directory, the space.
STUDY_FILE_ATTR = "study_file"


def recorded_objective(study: Study, objective: str | None = None) -> Callable[[Trial], Any]:
    """The objective a worker runs for ``study`` (``dialed worker``).

    ``objective`` (``"module:function"``) when given, else the one the study file recorded;
    the module is looked for in the current directory and the study file's directory. A space
    the study file declared is suggested before the function is called, as ``dialed run`` does.
    """
    recorded = study.attrs.get(STUDY_FILE_ATTR)
    recorded = recorded if isinstance(recorded, dict) else {}
    spec = objective or recorded.get("objective")
    if not spec:
        raise ConfigError(
            f"study {study.name!r} has no recorded objective (it was not started from a study "
            "file): give one with --objective module:function"
        )
    function = import_objective(str(spec), Path(str(recorded.get("base_dir") or Path.cwd())))
    space = recorded.get("space")
    return _SpaceFirst(Space.from_dict(space), function) if space else function


# -- running ----------------------------------------------------------------------------------
@contextlib.contextmanager
def _about(cfg: StudyFile) -> Iterator[None]:
    """Name the study file in configuration errors raised while setting the study up."""
    try:
        yield
    except ConfigError as exc:
        if cfg.source is None or str(exc).startswith("study file "):
            raise
        raise ConfigError(f"study file {cfg.source}: {exc}") from None
    except DialedError as exc:
        if cfg.source is None or not isinstance(exc, ValueError):
            raise
        raise ConfigError(f"study file {cfg.source}: {exc}") from None


def run_study_file(
    cfg: StudyFile,
    storage_override: str | None = None,
    show_progress: bool = False,
    *,
    n_trials: int | None = None,
    timeout: float | None = None,
    n_jobs: int | None = None,
    executor: str = "local",
    ray_address: str | None = None,
) -> Study:
    """Create (or reopen) the file's study and run it; returns the study.

    The storage is ``storage_override``, else the file's, else :data:`DEFAULT_URL`.
    ``n_trials``, ``timeout`` and ``n_jobs`` replace the file's values when given;
    ``executor="ray"`` runs the trials as Ray tasks (on the cluster at ``ray_address``).
    The objective, the file's directory and the space are recorded in the study
    (:data:`STUDY_FILE_ATTR`), so that ``dialed worker`` can run its trials anywhere.
    """
    with _about(cfg):
        objective = import_objective(cfg.objective, cfg.base_dir)
        declared = cfg.search_space
        study = create_study(
            cfg.study,
            storage=storage_override or cfg.storage or DEFAULT_URL,
            metrics=cfg.metrics,
            sampler=cfg.strategy.build_sampler(cfg.seed),
            pruner=cfg.strategy.build_pruner(),
            seed=cfg.seed,
            space=declared,
            resource=cfg.resource,
            load_if_exists=True,
            max_retries=cfg.max_retries,
        )
        if study.metrics != cfg.metric_set:
            raise ConfigError(
                f"study {cfg.study!r} already exists with metrics {study.metrics.to_dict()}, "
                f"not {cfg.metric_set.to_dict()}: use a new study name, or delete the old "
                f"study first (dialed delete {cfg.study})"
            )
        if declared is not None:
            stored = study.space
            for name, dist in declared.items():
                stored.add(name, dist)  # a changed range of a stored parameter fails here
            objective = _SpaceFirst(declared, objective)
        study.storage.set_study_attr(study.study_id, STUDY_FILE_ATTR, {
            "objective": cfg.objective,
            "base_dir": str(cfg.base_dir.resolve()),
            "space": None if declared is None else declared.to_dict(),
            "catch": cfg.catch,
        })
        if cfg.tradeoff is not None:
            record_rule(study, cfg.tradeoff)  # `dialed best` uses it, during the run too
    if cfg.uses_workflow:  # baseline, stages, confirm: dialed.workflow runs them
        from dialed.workflow._file import run_file_workflow

        with _about(cfg):
            run_file_workflow(cfg, study, objective, n_trials=n_trials, timeout=timeout,
                              n_jobs=n_jobs, show_progress=show_progress)
        _record_tradeoff(cfg, study)
        return study
    study.optimize(
        objective,
        n_trials=n_trials if n_trials is not None else cfg.budget.trials,
        timeout=timeout if timeout is not None else cfg.budget.timeout,
        n_jobs=n_jobs if n_jobs is not None else cfg.n_jobs,
        catch=(Exception,) if cfg.catch else (),
        show_progress=show_progress,
        executor=executor,
        ray_address=ray_address,
    )
    _record_tradeoff(cfg, study)
    return study


def _record_tradeoff(cfg: StudyFile, study: Study) -> None:
    """Record the trial the file's trade-off rule recommends (none yet: the rule alone)."""
    if cfg.tradeoff is not None:
        with contextlib.suppress(NoTrialsError):
            recommend(study, cfg.tradeoff)

