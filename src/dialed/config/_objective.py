"""The study file's objective: ``module:function`` imported from beside the file, and the one
a worker runs, recorded in the study (:data:`STUDY_FILE_ATTR`)."""

from __future__ import annotations

import importlib
import re
import sys
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dialed.config._errors import first_line
from dialed.errors import ConfigError
from dialed.space import Space
from dialed.study import Study
from dialed.trial import Trial

#: ``module:function`` (the function may be a dotted attribute path).
SPEC = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*:\s*([A-Za-z_][\w.]*)\s*$")


def split_spec(spec: Any) -> tuple[str, str]:
    m = SPEC.match(spec) if isinstance(spec, str) else None
    if m is None:
        raise ConfigError(
            f"objective {spec!r} is not of the form 'module:function' "
            "(for example 'train:objective' for def objective(trial) in train.py)"
        )
    return m.group(1), m.group(2)


def import_objective(spec: str, base_dir: Path) -> Callable[[Trial], Any]:
    """Import ``"module:function"``, looking in ``base_dir`` and the current directory first."""
    module_name, attr_path = split_spec(spec)
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
            f"({type(exc).__name__}: {first_line(exc)}); looked in {base_dir} and the "
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


class SpaceFirst:
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


#: An imported function with this attribute is bound to its study before it runs:
#: ``function.dialed_bind_study(study)`` returns what to call. ``dialed.llm``'s ``objective``
#: and ``test`` use it to read the study file's ``llm:`` section recorded in the study.
BIND_ATTR = "dialed_bind_study"


def bind_to_study(function: Callable[..., Any], study: Study) -> Callable[..., Any]:
    """``function``, or what its :data:`BIND_ATTR` makes of it for ``study``."""
    bind = getattr(function, BIND_ATTR, None)
    return typing.cast(Callable[..., Any], bind(study)) if callable(bind) else function


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
    function = bind_to_study(
        import_objective(str(spec), Path(str(recorded.get("base_dir") or Path.cwd()))), study)
    space = recorded.get("space")
    return SpaceFirst(Space.from_dict(space), function) if space else function
