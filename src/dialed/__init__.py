"""dialed: hyperparameter tuning as a measured experiment.

>>> import dialed
>>> study = dialed.create_study("demo", metrics={"loss": "minimize"}, seed=0)
>>> study.optimize(lambda t: (t.suggest_float("x", -1, 1) - 0.3) ** 2, n_trials=20)
>>> round(study.best_params["x"], 1)  # doctest: +SKIP
0.3
"""

from __future__ import annotations

from dialed import analysis, pruners, samplers, storage, workflow
from dialed._version import __version__
from dialed.analysis.tradeoff import recommend
from dialed.errors import (
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
from dialed.workflow import Fingerprint, Workflow, fingerprint, registry, retune, summarize

__all__ = [
    "CategoricalDistribution",
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
