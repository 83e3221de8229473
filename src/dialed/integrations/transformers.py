"""Hugging Face Transformers: a search over TrainingArguments and LoRA settings, and a
TrainerCallback that reports each evaluation and prunes (the ``transformers`` extra).

>>> from dialed.integrations.transformers import hyperparameter_search
>>> best = hyperparameter_search(  # doctest: +SKIP
...     trainer,  # a Trainer built with model_init= (a fresh model per trial)
...     {"learning_rate": {"type": "float", "low": 1e-5, "high": 1e-3, "log": True},
...      "r": {"type": "categorical", "choices": [4, 8, 16]}},
...     n_trials=20, metric="eval_loss", direction="minimize", storage="sqlite:///hp.db",
...     lora=LoraConfig(task_type="SEQ_CLS", target_modules=["query", "value"]))
>>> best.hyperparameters, best.objective  # transformers' BestRun  # doctest: +SKIP

``space`` maps names to the dicts a study file's ``space:`` takes (or dialed distributions).
A name is a ``TrainingArguments`` field (learning_rate, num_train_epochs,
per_device_train_batch_size, warmup_ratio, weight_decay, ...) or a PEFT LoRA setting (r,
lora_alpha, lora_dropout, target_modules); any other name stops the search with one line
before training. Known names get a family when the spec gives none (learning_rate:
optimizer, the batch size: batch, epochs and warmup: schedule, weight_decay and
lora_dropout: regularization, r, lora_alpha and target_modules: architecture), so a
workflow can tune one family at a time. Each trial sets the arguments, seeds the trainer with
the trial's seed, builds a fresh model with ``model_init`` (wrapped with LoRA when the space or
``lora`` asks for it), trains with :class:`PruningCallback` reporting every evaluation at its
global step, and returns ``metric`` from the last evaluation (all of whose metrics are the
trial's user attribute ``eval_metrics``). The trainer's arguments and
``model_init`` are put back afterwards.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dialed._util import install_hint
from dialed.errors import ConfigError
from dialed.integrations._protocol import (
    MetricNotProducedError,
    ReportingTrial,
    report_and_check,
    require_trial,
    stop_trial,
)
from dialed.space import Distribution, Space
from dialed.study import Study, create_study
from dialed.trial import Trial

try:
    from transformers import Trainer, TrainerCallback, TrainerControl, TrainerState
    from transformers import TrainingArguments as _TrainingArguments
    from transformers.trainer_utils import BestRun
except ImportError:  # pragma: no cover - the extra is installed wherever this is tested
    raise ConfigError(
        "dialed.integrations.transformers needs Hugging Face Transformers: "
        f"{install_hint('transformers')}"
    ) from None

__all__ = ["LORA_SETTINGS", "PruningCallback", "hyperparameter_search"]

#: The PEFT LoraConfig settings a space may tune.
LORA_SETTINGS = ("r", "lora_alpha", "lora_dropout", "target_modules")

#: The family a known name gets when its spec names none.
_FAMILIES = {
    "learning_rate": "optimizer", "adam_beta1": "optimizer", "adam_beta2": "optimizer",
    "adam_epsilon": "optimizer", "max_grad_norm": "optimizer",
    "per_device_train_batch_size": "batch", "gradient_accumulation_steps": "batch",
    "num_train_epochs": "schedule", "max_steps": "schedule", "warmup_ratio": "schedule",
    "warmup_steps": "schedule", "lr_scheduler_type": "schedule",
    "weight_decay": "regularization", "lora_dropout": "regularization",
    "label_smoothing_factor": "regularization",
    "r": "architecture", "lora_alpha": "architecture", "target_modules": "architecture",
}
_OWNER = "PruningCallback"


def eval_key(metric: str) -> str:
    """The key ``Trainer.evaluate`` gives ``metric`` (``accuracy`` -> ``eval_accuracy``)."""
    return metric if metric.startswith("eval_") else f"eval_{metric}"


class PruningCallback(TrainerCallback):
    """Reports ``metric`` after each evaluation (step: the global step) to ``trial`` and stops
    the training, raising :class:`dialed.Pruned` out of ``trainer.train()``, when the study's
    pruner says so. A metric the evaluation never returns fails the trial with one line naming
    the ones it did return."""

    def __init__(self, trial: Any, metric: str = "eval_loss") -> None:
        if not isinstance(metric, str) or not metric:
            raise ConfigError(f"{_OWNER}: metric must be an evaluation metric such as "
                              f"'eval_loss', got {metric!r}")
        self.trial: ReportingTrial = require_trial(trial, _OWNER)
        self.metric = eval_key(metric)
        #: The metrics of the last evaluation (None before the first).
        self.last_metrics: dict[str, float] | None = None

    def on_train_begin(self, args: _TrainingArguments, state: TrainerState,
                       control: TrainerControl, **kwargs: Any) -> None:
        if args.world_size > 1:
            raise ConfigError(f"{_OWNER} runs with training in one process; this run has "
                              f"world_size={args.world_size}")

    def on_evaluate(self, args: _TrainingArguments, state: TrainerState,
                    control: TrainerControl, metrics: dict[str, float] | None = None,
                    **kwargs: Any) -> None:
        metrics = dict(metrics or {})
        self.last_metrics = metrics
        if self.metric not in metrics:
            raise MetricNotProducedError(_OWNER, self.metric, metrics)
        step = int(state.global_step)
        if report_and_check(self.trial, float(metrics[self.metric]), step):
            control.should_training_stop = True
            raise stop_trial(self.trial, step, _OWNER)


def hyperparameter_search(
    trainer: Trainer,
    space: Mapping[str, Any] | Space,
    n_trials: int = 20,
    metric: str = "eval_loss",
    direction: str = "minimize",
    storage: Any = None,
    *,
    study_name: str | None = None,
    seed: int | None = None,
    sampler: Any = None,
    pruner: Any = None,
    lora: Any = None,
    timeout: float | None = None,
    catch: Sequence[type[BaseException]] | type[BaseException] = (),
    callbacks: Sequence[Callable[[Study, Any], None]] = (),
) -> BestRun:
    """Tune ``trainer`` over ``space`` for ``n_trials``; returns transformers' ``BestRun``
    (``run_id`` is the best trial's number, ``run_summary`` the dialed study).

    ``metric``: the evaluation metric to optimize (``eval_`` is prefixed when missing);
    ``direction``: 'minimize' or 'maximize'. ``storage``, ``study_name``, ``seed``,
    ``sampler``, ``pruner``: as :func:`dialed.create_study` (an existing study of that name
    in the storage is continued). ``lora``: the base ``peft.LoraConfig`` (its ``task_type``,
    say); the space's LoRA settings replace its fields. ``timeout``, ``catch`` and
    ``callbacks``: as :meth:`dialed.Study.optimize`.
    """
    if not isinstance(trainer, Trainer):
        raise ConfigError(f"hyperparameter_search needs a transformers Trainer, got "
                          f"{type(trainer).__name__}")
    if trainer.model_init is None:
        raise ConfigError("hyperparameter_search needs a Trainer built with model_init= (a "
                          "function returning a fresh model for each trial), not model=")
    if direction not in ("minimize", "maximize"):
        raise ConfigError(f"direction must be 'minimize' or 'maximize', got {direction!r}")
    if not isinstance(metric, str) or not metric:
        raise ConfigError(f"metric must be an evaluation metric such as 'eval_loss', got "
                          f"{metric!r}")
    dists = _space(space, trainer.args)
    lora_keys = [k for k in dists if k in LORA_SETTINGS]
    if (lora_keys or lora is not None) and not _has_peft():
        raise ConfigError(f"LoRA settings in the space need PEFT: {install_hint('transformers')}")
    key = eval_key(metric)
    study = create_study(study_name, storage=storage, metrics={key: direction}, seed=seed,
                         sampler=sampler, pruner=pruner, space=Space(dists),
                         load_if_exists=study_name is not None)
    saved_args = {name: getattr(trainer.args, name) for name in dists if name not in lora_keys}
    saved_seed, saved_init = trainer.args.seed, trainer.model_init
    user_init = trainer.model_init

    def objective(trial: Trial) -> float:
        params = trial.suggest_space(dists)
        for name, value in params.items():
            if name not in lora_keys:
                _set_arg(trainer, name, value)
        trainer.args.seed = trial.seed
        _resize(trainer)
        lora_params = {k: v for k, v in params.items() if k in lora_keys}
        trainer.model_init = _model_init(user_init, params, lora, lora_params)
        pruning = PruningCallback(trial, key)
        trainer.add_callback(pruning)
        try:
            trainer.train()
        finally:
            trainer.remove_callback(pruning)
        metrics = pruning.last_metrics
        if metrics is None:  # no evaluation while training: evaluate once now
            metrics = trainer.evaluate()
        if key not in metrics:
            raise MetricNotProducedError("hyperparameter_search", key, metrics)
        trial.set_user_attr("eval_metrics", {k: float(v) for k, v in metrics.items()
                                             if isinstance(v, (int, float))})
        return float(metrics[key])

    try:
        study.optimize(objective, n_trials=n_trials, timeout=timeout, catch=catch,
                       callbacks=callbacks)
    finally:
        for name, value in saved_args.items():
            setattr(trainer.args, name, value)
        trainer.args.seed = saved_seed
        trainer.model_init = saved_init
        _resize(trainer)
    best = study.best_trial
    return BestRun(str(best.number), float(best.metrics[key]), dict(best.params), study)


# -- helpers -------------------------------------------------------------------------------------
def _space(space: Mapping[str, Any] | Space, args: Any) -> dict[str, Distribution]:
    """The space's distributions, each name checked before any training."""
    if not isinstance(space, Mapping) or not space:
        raise ConfigError("space must be a non-empty mapping of TrainingArguments fields or "
                          f"LoRA settings to distributions, got {space!r}")
    fields = {f.name for f in dataclasses.fields(args)}
    known = sorted(fields | set(LORA_SETTINGS))
    out: dict[str, Distribution] = {}
    for name, spec in space.items():
        if name not in fields and name not in LORA_SETTINGS:
            close = difflib.get_close_matches(str(name), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"space key {name!r} is neither a TrainingArguments field nor a LoRA setting "
                f"({', '.join(LORA_SETTINGS)}){hint}"
            )
        if isinstance(spec, Mapping) and "family" not in spec and name in _FAMILIES:
            spec = {**spec, "family": _FAMILIES[name]}
        out[name] = Space({name: spec})[name]
    return out


def _set_arg(trainer: Trainer, name: str, value: Any) -> None:
    old = getattr(trainer.args, name)
    if isinstance(old, bool) or old is None or not isinstance(old, (int, float)):
        setattr(trainer.args, name, value)
    else:
        setattr(trainer.args, name, type(old)(value))  # epochs are floats in TrainingArguments


def _resize(trainer: Trainer) -> None:
    """What the Trainer derives from its arguments at construction (the batch size it loads
    with), as its own search does between trials."""
    trainer._train_batch_size = trainer.args.train_batch_size


def _model_init(user_init: Callable[..., Any], params: dict[str, Any], lora: Any,
                lora_params: dict[str, Any]) -> Callable[[], Any]:
    takes_params = len(inspect.signature(user_init).parameters) >= 1

    def init() -> Any:
        model = user_init(params) if takes_params else user_init()
        if lora is None and not lora_params:
            return model
        from peft import LoraConfig, get_peft_model

        base = lora if lora is not None else LoraConfig()
        config = dataclasses.replace(base, **lora_params)
        return get_peft_model(model, config)

    return init


def _has_peft() -> bool:
    try:
        import peft  # noqa: F401
    except ImportError:
        return False
    return True
