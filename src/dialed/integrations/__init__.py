"""Adapters between dialed and the libraries models are trained with.

Each integration is one module ``dialed.integrations.<name>``, an optional extra imported
only when that module is::

    sklearn       DialedSearchCV, shaped like RandomizedSearchCV           extra: sklearn
    lightgbm      PruningCallback, tune_stepwise over LightGBM's families  extra: lightgbm
    xgboost       PruningCallback                                          extra: xgboost
    lightning     PruningCallback for PyTorch Lightning                    extra: lightning
    transformers  hyperparameter_search and a TrainerCallback (PEFT LoRA)  extra: transformers
    mlflow        MLflowCallback: a run per trial                          extra: mlflow
    tensorboard   TensorBoardCallback: event files with hparams            extra: tensorboard
    optuna        DialedSampler, DialedStorage: dialed inside Optuna       extra: optuna

They share one small protocol (:mod:`dialed.integrations._protocol`): a trial reports a value
at a step, asks whether to stop, and records attributes; a callback is handed its trial and
checks it before training starts; a metric the training never produced fails the trial with
one line naming the metrics it did produce. ``import dialed.integrations`` imports none of the
libraries.
"""

from __future__ import annotations

from dialed.integrations._protocol import (
    MetricNotProducedError,
    ReportingTrial,
    check_produced,
    report_and_check,
    require_trial,
    stop_trial,
)

__all__ = [
    "MetricNotProducedError",
    "ReportingTrial",
    "check_produced",
    "report_and_check",
    "require_trial",
    "stop_trial",
]
