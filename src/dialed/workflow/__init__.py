"""The tuning discipline: baseline and targets, one family at a time with attribution,
stability across seeds, a locked final test, a configuration registry with rollback, and
re-tune warnings when the data changes.

>>> import dialed
>>> study = dialed.create_study("wf", metrics={"loss": "minimize"}, seed=0)
>>> def objective(trial):
...     lr = trial.suggest_float("lr", 1e-4, 1.0, log=True, family="optimizer")
...     alpha = trial.suggest_float("alpha", 0.0, 1.0, family="regularization")
...     return (lr - 0.1) ** 2 + (alpha - 0.3) ** 2
>>> wf = dialed.Workflow(study, objective, baseline={"lr": 0.01, "alpha": 0.9}, repeats=3)
>>> _ = wf.run_stage("optimizer", trials=10)  # doctest: +SKIP
>>> print(wf.summary())  # doctest: +SKIP

Everything is stored in the study's storage (attributes ``workflow:*`` and tagged trials).
"""

from __future__ import annotations

from dialed.workflow._data import (
    DataCheck,
    FeatureShift,
    Fingerprint,
    fingerprint,
    fingerprint_pair,
)
from dialed.workflow._evaluate import DeclaredFirst, FixedSampler
from dialed.workflow._file import load_data, record_data, recorded_function, run_file_workflow
from dialed.workflow._imports import import_function
from dialed.workflow._ladder import (
    LADDER_FIT_KEY,
    LADDER_KEY,
    PREDICTION_KEY,
    enqueue_prediction,
    ladder_studies,
    parse_scales,
    record_prediction,
    run_file_ladder,
    run_ladder,
    rung_name,
    warm_start,
)
from dialed.workflow._ladder_fit import LadderFit, Prediction, Rung, fit_ladder, move_config
from dialed.workflow._plan import Plan, StagePlan
from dialed.workflow._records import (
    Candidate,
    ConfirmResult,
    Evaluation,
    StageResult,
    VerifyResult,
)
from dialed.workflow._registry import (
    FORMATS,
    REGISTRY_STUDY,
    Registry,
    Version,
    diff_params,
    registry,
)
from dialed.workflow._registry import render as render_configuration
from dialed.workflow._retune import retune
from dialed.workflow._stages import StageSampler
from dialed.workflow._summary import Summary, summarize
from dialed.workflow._workflow import TestFunction, Workflow, verify_rule

__all__ = [
    "FORMATS",
    "LADDER_FIT_KEY",
    "LADDER_KEY",
    "PREDICTION_KEY",
    "REGISTRY_STUDY",
    "Candidate",
    "ConfirmResult",
    "DataCheck",
    "DeclaredFirst",
    "Evaluation",
    "FeatureShift",
    "Fingerprint",
    "FixedSampler",
    "LadderFit",
    "Plan",
    "Prediction",
    "Registry",
    "Rung",
    "StagePlan",
    "StageResult",
    "StageSampler",
    "Summary",
    "TestFunction",
    "VerifyResult",
    "Version",
    "Workflow",
    "diff_params",
    "enqueue_prediction",
    "fingerprint",
    "fingerprint_pair",
    "fit_ladder",
    "import_function",
    "ladder_studies",
    "load_data",
    "move_config",
    "parse_scales",
    "record_data",
    "record_prediction",
    "recorded_function",
    "registry",
    "render_configuration",
    "retune",
    "run_file_ladder",
    "run_file_workflow",
    "run_ladder",
    "rung_name",
    "summarize",
    "verify_rule",
    "warm_start",
]
