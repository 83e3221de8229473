"""The objective of early_stopping.yaml: an SGD classifier trained one epoch at a time.

After each epoch the validation error is reported; when the pruner says the trial is not
promising, raising :class:`dialed.Pruned` ends it, its curve kept. A trial that is not stopped
trains to ``trial.resource`` epochs (the study's declared maximum).
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import dialed

X, y = load_digits(return_X_y=True)
X_TRAIN, X_VAL, Y_TRAIN, Y_VAL = train_test_split(X, y, test_size=0.3, random_state=0,
                                                  stratify=y)
SCALER = StandardScaler().fit(X_TRAIN)
X_TRAIN, X_VAL = SCALER.transform(X_TRAIN), SCALER.transform(X_VAL)
CLASSES = np.unique(y)


def objective(trial: dialed.Trial) -> float:
    p = trial.params  # alpha, eta0, power_t, loss
    model = SGDClassifier(loss=p["loss"], alpha=p["alpha"], eta0=p["eta0"],
                          power_t=p["power_t"], learning_rate="invscaling",
                          random_state=trial.seed)
    rng = np.random.default_rng(trial.seed)
    error = 1.0
    epochs = int(trial.resource or 27)
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(X_TRAIN))
        model.partial_fit(X_TRAIN[order], Y_TRAIN[order], classes=CLASSES)
        error = 1.0 - float(model.score(X_VAL, Y_VAL))
        trial.report(error, epoch)
        if trial.should_prune():
            raise dialed.Pruned()
    return error
