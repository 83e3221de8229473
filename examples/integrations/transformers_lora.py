"""Fine-tuning with LoRA, tuned: learning rate, epochs and adapter rank with dialed.

A tiny BERT built from a config and a word-level tokenizer built here (nothing is downloaded)
learn a generated sentiment task; ``hyperparameter_search`` tunes TrainingArguments fields and
PEFT LoRA settings together, reports every evaluation and prunes poor trials, and returns
transformers' ``BestRun``.

Run:  python examples/integrations/transformers_lora.py [--trials N]
"""

from __future__ import annotations

import argparse
import random
import tempfile
from typing import Any

import numpy as np
import torch
from peft import LoraConfig
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    PreTrainedTokenizerFast,
    PrinterCallback,
    Trainer,
    TrainingArguments,
)
from transformers.utils import logging as hf_logging

from dialed.integrations.transformers import hyperparameter_search

POSITIVE = ["good", "great", "fine", "nice", "superb"]
NEGATIVE = ["bad", "awful", "poor", "sad", "dull"]
FILLER = ["the", "a", "movie", "plot", "was", "and", "very", "acting", "it", "quite"]
VOCAB = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *POSITIVE, *NEGATIVE,
                                      *FILLER])}


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
        words = [rng.choice(POSITIVE if label else NEGATIVE), *rng.sample(FILLER, 5)]
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(label)
    enc = tokenizer()(texts, padding="max_length", max_length=10, truncation=True)
    return [{"input_ids": torch.tensor(enc["input_ids"][i]),
             "attention_mask": torch.tensor(enc["attention_mask"][i]),
             "labels": torch.tensor(labels[i])} for i in range(n)]


def model_init() -> BertForSequenceClassification:
    return BertForSequenceClassification(BertConfig(
        vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=16, num_labels=2))


def accuracy(pred: Any) -> dict[str, float]:
    return {"accuracy": float((np.argmax(pred.predictions, -1) == pred.label_ids).mean())}


def main(argv: list[str] | None = None) -> Any:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--storage", default=None, help="a study URL (default: in memory)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    hf_logging.set_verbosity_error()
    training = TrainingArguments(
        output_dir=tempfile.mkdtemp(), eval_strategy="epoch", save_strategy="no", report_to=[],
        logging_strategy="no", disable_tqdm=True, use_cpu=True, num_train_epochs=3,
        per_device_train_batch_size=16)
    trainer = Trainer(model_init=model_init, args=training, train_dataset=sentences(256, 0),
                      eval_dataset=sentences(64, 1), compute_metrics=accuracy)
    trainer.remove_callback(PrinterCallback)  # quiet: the study records every evaluation
    space = {
        "learning_rate": {"type": "float", "low": 1e-3, "high": 3e-2, "log": True},
        "num_train_epochs": {"type": "int", "low": 3, "high": 5},
        "r": {"type": "categorical", "choices": [2, 4, 8]},
        "lora_alpha": {"type": "int", "low": 4, "high": 32, "log": True},
        "lora_dropout": {"type": "float", "low": 0.0, "high": 0.2},
        "target_modules": {"type": "categorical",
                           "choices": [["query", "value", "dense"],
                                       ["query", "key", "value", "dense"]]},
    }
    best = hyperparameter_search(
        trainer, space, n_trials=args.trials, metric="eval_loss", direction="minimize",
        storage=args.storage, seed=0, lora=LoraConfig(task_type="SEQ_CLS"),
        pruner={"name": "median", "n_startup_trials": 3})
    states = [t.state.value for t in best.run_summary.trials]
    print(f"trials pruned: {states.count('pruned')} of {len(states)}")
    top = best.run_summary.best_trial
    print(f"best run {best.run_id}: eval_loss {best.objective:.4f} "
          f"(accuracy {top.user_attrs['eval_metrics']['eval_accuracy']:.3f}) "
          f"with {best.hyperparameters}")
    return best


if __name__ == "__main__":
    main()
