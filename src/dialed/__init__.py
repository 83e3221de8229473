"""dialed: hyperparameter tuning as a measured experiment.

>>> import dialed
>>> study = dialed.create_study("demo", metrics={"loss": "minimize"}, seed=0)
>>> study.optimize(lambda t: (t.suggest_float("x", -1, 1) - 0.3) ** 2, n_trials=20)
>>> round(study.best_params["x"], 1)  # doctest: +SKIP
0.3
"""

from __future__ import annotations

from dialed import pruners, samplers, storage
from dialed._version import __version__
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

__all__ = [
    "CategoricalDistribution",
    "ConfigError",
    "DialedError",
    "Distribution",
    "DuplicateStudyError",
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
    "__version__",
    "create_study",
    "delete_study",
    "list_studies",
    "load_study",
    "parse_target",
    "pruners",
    "samplers",
    "storage",
]
