"""dialed: hyperparameter tuning as a measured experiment.

>>> import dialed
>>> study = dialed.create_study("demo", metrics={"loss": "minimize"}, seed=0)
>>> study.optimize(lambda t: (t.suggest_float("x", -1, 1) - 0.3) ** 2, n_trials=20)
>>> round(study.best_params["x"], 1)  # doctest: +SKIP
0.3
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dialed import pruners, samplers, storage
from dialed._version import __version__
from dialed.errors import (
    CheckpointError,
    ConfigError,
    DialedError,
    DuplicateStudyError,
    NoTrialsError,
    ObjectiveError,
    Pruned,
    SchemaVersionError,
    SearchExhausted,
    SpaceError,
    StorageError,
    StudyNotFoundError,
    TrialAbandoned,
    TrialStateError,
    WorkflowError,
)
from dialed.metrics import Metric, MetricSet, Target, parse_target
from dialed.space import (
    CategoricalDistribution,
    Distribution,
    FloatDistribution,
    IntDistribution,
    Space,
)
from dialed.study import Study, create_study, delete_study, list_studies, load_study
from dialed.trial import Trial, TrialRecord, TrialState

if TYPE_CHECKING:
    from dialed import analysis, workflow
    from dialed.analysis.tradeoff import recommend
    from dialed.workflow import Fingerprint, Workflow, fingerprint, registry, retune, summarize

#: Names imported when first used: the analysis and the workflow bring in SciPy's statistics,
#: which ``import dialed`` does not pay for (a study needs neither).
_LAZY = {
    "analysis": ("dialed.analysis", None),
    "workflow": ("dialed.workflow", None),
    "recommend": ("dialed.analysis.tradeoff", "recommend"),
    "Fingerprint": ("dialed.workflow", "Fingerprint"),
    "Workflow": ("dialed.workflow", "Workflow"),
    "fingerprint": ("dialed.workflow", "fingerprint"),
    "registry": ("dialed.workflow", "registry"),
    "retune": ("dialed.workflow", "retune"),
    "summarize": ("dialed.workflow", "summarize"),
}


def __getattr__(name: str) -> Any:
    found = _LAZY.get(name)
    if found is None:
        raise AttributeError(f"module 'dialed' has no attribute {name!r}")
    module = importlib.import_module(found[0])
    value = module if found[1] is None else getattr(module, found[1])
    globals()[name] = value
    return value

__all__ = [
    "CategoricalDistribution",
    "CheckpointError",
    "ConfigError",
    "DialedError",
    "Distribution",
    "DuplicateStudyError",
    "Fingerprint",
    "FloatDistribution",
    "IntDistribution",
    "Metric",
    "MetricSet",
    "NoTrialsError",
    "ObjectiveError",
    "Pruned",
    "SchemaVersionError",
    "SearchExhausted",
    "Space",
    "SpaceError",
    "StorageError",
    "Study",
    "StudyNotFoundError",
    "Target",
    "Trial",
    "TrialAbandoned",
    "TrialRecord",
    "TrialState",
    "TrialStateError",
    "Workflow",
    "WorkflowError",
    "__version__",
    "analysis",
    "create_study",
    "delete_study",
    "fingerprint",
    "list_studies",
    "load_study",
    "parse_target",
    "pruners",
    "recommend",
    "registry",
    "retune",
    "samplers",
    "storage",
    "summarize",
    "workflow",
]
