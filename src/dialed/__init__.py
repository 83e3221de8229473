"""dialed: hyperparameter tuning as a measured experiment.

>>> import dialed
>>> study = dialed.create_study("demo", metrics={"loss": "minimize"}, seed=0)
>>> study.optimize(lambda t: (t.suggest_float("x", -1, 1) - 0.3) ** 2, n_trials=20)
>>> round(study.best_params["x"], 1)  # doctest: +SKIP
0.3
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dialed import storage
from dialed._util import lazy_attributes
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
)
from dialed.trial import Trial, TrialRecord, TrialState

if TYPE_CHECKING:
    from dialed import analysis, pruners, samplers, workflow
    from dialed.analysis.tradeoff import recommend
    from dialed.space import Space
    from dialed.study import Study, create_study, delete_study, list_studies, load_study
    from dialed.workflow import Fingerprint, Workflow, fingerprint, registry, retune, summarize

#: Names imported when first used. A study's machinery (the samplers, the pruners, the history)
#: brings in NumPy, and the analysis and the workflow SciPy's statistics; the storage, the
#: records and the errors need neither, so that the command line's listings load neither.
__getattr__, __dir__ = lazy_attributes(__name__, globals(), {
    **{name: (f"dialed.{name}", None)
       for name in ("analysis", "pruners", "samplers", "study", "workflow")},
    **{name: ("dialed.study", name)
       for name in ("Study", "create_study", "delete_study", "list_studies", "load_study")},
    "Space": ("dialed.space", "Space"),
    "recommend": ("dialed.analysis.tradeoff", "recommend"),
    **{name: ("dialed.workflow", name)
       for name in ("Fingerprint", "Workflow", "fingerprint", "registry", "retune",
                    "summarize")},
})

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
