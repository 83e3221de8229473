"""hyperparameter_search and PruningCallback with a real Hugging Face Trainer: a tiny BERT
built from a config and a word-level tokenizer built here, on a generated sentiment task.
Nothing is downloaded."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from peft import LoraConfig, PeftModel
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    PreTrainedTokenizerFast,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)
from transformers.trainer_utils import BestRun

import dialed
from dialed.errors import ConfigError
from dialed.integrations._protocol import MetricNotProducedError
from dialed.integrations.transformers import PruningCallback, hyperparameter_search

torch.set_num_threads(1)  # a tiny model: threads only contend on a shared machine

POSITIVE = ["good", "great", "fine", "nice"]
NEGATIVE = ["bad", "awful", "poor", "sad"]
FILLER = ["the", "a", "movie", "plot", "was", "and", "very"]
VOCAB = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *POSITIVE, *NEGATIVE,
                                      *FILLER])}
N_TRAIN, N_VAL = 256, 32


def tokenizer() -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.WordLevel(VOCAB, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]")


def sentences(n: int, seed: int) -> list[dict[str, torch.Tensor]]:
    """Label 1 when a sentence's one sentiment word is positive."""
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(n):
        label = rng.randint(0, 1)
        words = [rng.choice(POSITIVE if label else NEGATIVE), *rng.sample(FILLER, 4)]
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(label)
    enc = tokenizer()(texts, padding="max_length", max_length=10, truncation=True)
    return [{"input_ids": torch.tensor(enc["input_ids"][i]),
             "attention_mask": torch.tensor(enc["attention_mask"][i]),
             "labels": torch.tensor(labels[i])} for i in range(n)]


def tiny_bert() -> BertForSequenceClassification:
    return BertForSequenceClassification(BertConfig(
        vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=16, num_labels=2))


def accuracy(pred: Any) -> dict[str, float]:
    return {"accuracy": float((np.argmax(pred.predictions, -1) == pred.label_ids).mean())}


class Seen(TrainerCallback):
    """What each training actually ran with: the arguments and the model it was given."""

    def __init__(self) -> None:
        self.runs: list[dict[str, Any]] = []

    def on_train_begin(self, args: TrainingArguments, state: Any, control: Any,
                       model: Any = None, **kwargs: Any) -> None:
        run = {"learning_rate": args.learning_rate, "batch": args.per_device_train_batch_size,
               "seed": args.seed, "lora": None}
        if isinstance(model, PeftModel):
            config = model.peft_config["default"]
            run["lora"] = {"r": config.r, "lora_dropout": config.lora_dropout,
                           "target_modules": sorted(config.target_modules)}
        self.runs.append(run)


def make_trainer(tmp_path: Path, seen: Seen | None = None, **args: Any) -> Trainer:
    options: dict[str, Any] = {
        "output_dir": str(tmp_path / "out"), "eval_strategy": "epoch", "save_strategy": "no",
        "report_to": [], "num_train_epochs": 2, "per_device_train_batch_size": 16,
        "learning_rate": 1e-3, "logging_strategy": "no", "disable_tqdm": True, "use_cpu": True,
        **args,
    }
    return Trainer(model_init=tiny_bert, args=TrainingArguments(**options),
                   train_dataset=sentences(N_TRAIN, 0), eval_dataset=sentences(N_VAL, 1),
                   compute_metrics=accuracy, callbacks=[seen] if seen else None)


def test_search_over_training_arguments_and_lora_returns_best_run(tmp_path: Path) -> None:
    seen = Seen()
    trainer = make_trainer(tmp_path, seen)
    space = {
        "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
        "per_device_train_batch_size": {"type": "categorical", "choices": [16, 32]},
        "r": {"type": "categorical", "choices": [2, 4, 8]},
        "lora_dropout": {"type": "float", "low": 0.0, "high": 0.2},
        "target_modules": {"type": "categorical",
                           "choices": [["query", "value"], ["key", "query", "value"]]},
    }
    best = hyperparameter_search(
        trainer, space, n_trials=3, metric="accuracy", direction="maximize",
        storage=f"sqlite:///{tmp_path / 'hp.db'}", study_name="lora", seed=0,
        lora=LoraConfig(task_type="SEQ_CLS"))

    assert isinstance(best, BestRun)
    study = best.run_summary
    assert isinstance(study, dialed.Study)
    records = study.trials
    assert [t.state for t in records] == [dialed.TrialState.COMPLETE] * 3
    top = max(records, key=lambda t: t.metrics["eval_accuracy"])
    assert best.run_id == str(top.number)
    assert best.objective == top.metrics["eval_accuracy"]
    assert best.hyperparameters == dict(top.params)
    # each training ran with its trial's arguments, seed and LoRA adapter
    assert len(seen.runs) == 3
    for run, rec in zip(seen.runs, records, strict=True):
        p = rec.params
        assert run["learning_rate"] == pytest.approx(p["learning_rate"])
        assert run["batch"] == p["per_device_train_batch_size"]
        assert run["seed"] == rec.seed
        assert run["lora"] == {"r": p["r"], "lora_dropout": pytest.approx(p["lora_dropout"]),
                               "target_modules": sorted(p["target_modules"])}
        per_epoch = math.ceil(N_TRAIN / p["per_device_train_batch_size"])
        assert sorted(rec.intermediate) == [per_epoch, 2 * per_epoch]  # an evaluation each epoch
        assert rec.intermediate[2 * per_epoch] == rec.metrics["eval_accuracy"]
        assert rec.user_attrs["eval_metrics"]["eval_accuracy"] == rec.metrics["eval_accuracy"]
        assert "eval_loss" in rec.user_attrs["eval_metrics"]
    families = {name: d.family for name, d in study.space.items()}
    assert families == {"learning_rate": "optimizer", "per_device_train_batch_size": "batch",
                        "r": "architecture", "lora_dropout": "regularization",
                        "target_modules": "architecture"}
    # the trainer is given back as it came
    assert trainer.args.learning_rate == 1e-3 and trainer.args.per_device_train_batch_size == 16
    assert trainer.model_init is tiny_bert


def test_the_callback_prunes_a_trial_out_of_trainer_train(tmp_path: Path) -> None:
    per_epoch = N_TRAIN // 16
    study = dialed.create_study("hf-prune", direction="minimize", seed=1, pruner={
        "name": "median", "n_startup_trials": 1, "n_warmup_steps": 2 * per_epoch})
    study.enqueue({"learning_rate": 3e-3})  # learns: eval_loss 0.69, 0.46, 0.22
    study.enqueue({"learning_rate": 1e-6})  # hardly moves from the untrained loss

    def objective(trial: dialed.Trial) -> float:
        lr = trial.suggest_float("learning_rate", 1e-6, 1e-2, log=True)
        trainer = make_trainer(tmp_path, learning_rate=lr, num_train_epochs=3, seed=0)
        trainer.add_callback(PruningCallback(trial, "eval_loss"))
        trainer.train()
        return float(trainer.evaluate()["eval_loss"])

    study.optimize(objective, n_trials=2)
    good, bad = study.trials
    assert good.state == dialed.TrialState.COMPLETE
    assert sorted(good.intermediate) == [per_epoch, 2 * per_epoch, 3 * per_epoch]
    assert bad.state == dialed.TrialState.PRUNED
    assert sorted(bad.intermediate) == [per_epoch, 2 * per_epoch]  # stopped after warm-up
    assert bad.user_attrs["pruned_at"] == 2 * per_epoch


def test_an_unknown_space_key_is_one_line_before_training(tmp_path: Path) -> None:
    seen = Seen()
    trainer = make_trainer(tmp_path, seen)
    with pytest.raises(ConfigError) as err:
        hyperparameter_search(trainer, {"learning_rat": {"type": "float", "low": 1e-4,
                                                         "high": 1e-2}}, n_trials=2)
    assert str(err.value) == (
        "space key 'learning_rat' is neither a TrainingArguments field nor a LoRA setting "
        "(r, lora_alpha, lora_dropout, target_modules); did you mean 'learning_rate'?")
    assert seen.runs == []


def test_a_metric_the_evaluation_never_returns_fails_the_trial(tmp_path: Path) -> None:
    trainer = make_trainer(tmp_path, num_train_epochs=1)
    with pytest.raises(MetricNotProducedError) as err:
        hyperparameter_search(trainer, {"weight_decay": {"type": "float", "low": 0.0,
                                                         "high": 0.1}},
                              n_trials=1, metric="f1", direction="maximize", seed=0)
    assert "PruningCallback: the training never produced 'eval_f1'; it produced: " in str(err.value)
    assert "'eval_accuracy', 'eval_loss'" in str(err.value)


def test_bad_arguments_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PruningCallback needs the trial the objective"):
        PruningCallback(None)
    trainer = Trainer(model=tiny_bert(), args=TrainingArguments(
        output_dir=str(tmp_path), report_to=[], use_cpu=True))
    with pytest.raises(ConfigError, match="needs a Trainer built with model_init="):
        hyperparameter_search(trainer, {"learning_rate": {"type": "float", "low": 1e-4,
                                                          "high": 1e-2}})
    with pytest.raises(ConfigError, match="direction must be 'minimize' or 'maximize'"):
        hyperparameter_search(make_trainer(tmp_path), {"learning_rate": {
            "type": "float", "low": 1e-4, "high": 1e-2}}, direction="up")
