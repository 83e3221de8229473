"""Make docs/study-page.png: a real study, shown by the dashboard, photographed by Chromium.

    python docs/make_screenshot.py            # about a minute; needs the dev extra and chromium

The study tunes an SGD classifier (logistic loss) on scikit-learn's digits with two worker
processes: the learning rate and its schedule, the L2 and elastic-net penalties, the batch
size, each in its family. A trial trains epoch by epoch with ``partial_fit``, reports the
validation log-loss after each epoch and is stopped early by the median pruner. The dashboard
serves the study from a temporary SQLite file; Playwright drives Debian's Chromium at
/usr/bin/chromium and photographs the top of the study page.
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import dialed

HERE = Path(__file__).resolve().parent
X, y = load_digits(return_X_y=True)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.3, random_state=0,
                                                  stratify=y)
scaler = StandardScaler().fit(X_train)
X_train, X_val = scaler.transform(X_train), scaler.transform(X_val)
CLASSES = np.unique(y)
EPOCHS = 12


def objective(trial: dialed.Trial) -> dict[str, float]:
    eta0 = trial.suggest_float("eta0", 1e-4, 1.0, log=True, family="optimizer")
    schedule = trial.suggest_categorical("schedule", ["constant", "invscaling", "adaptive"],
                                         family="schedule")
    alpha = trial.suggest_float("alpha", 1e-6, 1e-1, log=True, family="regularization")
    l1_ratio = trial.suggest_float("l1_ratio", 0.0, 1.0, family="regularization")
    batch = trial.suggest_int("batch_size", 16, 512, log=True, family="batch")
    model = SGDClassifier(loss="log_loss", penalty="elasticnet", alpha=alpha, l1_ratio=l1_ratio,
                          learning_rate=schedule, eta0=eta0, random_state=trial.seed)
    rng = np.random.default_rng(trial.seed)
    loss = float("nan")
    for epoch in range(EPOCHS):
        order = rng.permutation(len(X_train))
        for start in range(0, len(order), batch):
            idx = order[start:start + batch]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.partial_fit(X_train[idx], y_train[idx], classes=CLASSES)
        loss = float(log_loss(y_val, model.predict_proba(X_val), labels=CLASSES))
        trial.report(loss, epoch + 1)
        if trial.should_prune():
            raise dialed.Pruned(f"val_loss {loss:.3f} after epoch {epoch}")
    return {"val_loss": loss, "val_acc": float(accuracy_score(y_val, model.predict(X_val)))}


def build(url: str, n_trials: int = 80) -> None:
    """Run the example study into ``url``."""
    study = dialed.create_study(
        "sgd-digits", storage=url, metrics={"val_loss": "minimize", "val_acc": "track"},
        sampler="tpe", pruner={"name": "median", "n_startup_trials": 8}, seed=0,
        resource={"name": "epochs", "min": 1, "max": EPOCHS},
    )
    study.set_user_attr("note", "SGD (logistic loss) on digits: 12 epochs, median pruning")
    study.optimize(objective, n_trials=n_trials, n_jobs=2)


def photograph(url: str, out: Path, *, height: int = 1800, scroll_to: str | None = None) -> None:
    """The top ``height`` pixels of the study page (from ``scroll_to``, a CSS selector)."""
    from playwright.sync_api import sync_playwright

    from dialed.dashboard import DashboardServer

    server = DashboardServer(url, port=0).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                      "--no-first-run", "--disable-background-networking",
                      "--disable-component-update", "--disable-sync"])
            page = browser.new_page(viewport={"width": 1400, "height": height})
            page.goto(server.url + "studies/sgd-digits")
            page.wait_for_selector("section[data-plot='timeline'] .main-svg")
            page.wait_for_selector("#trial-table tbody tr")
            page.wait_for_timeout(1500)  # the last plots finish their transitions
            if scroll_to is not None:
                page.locator(scroll_to).scroll_into_view_if_needed()
                page.evaluate(f"document.querySelector({scroll_to!r}).scrollIntoView()")
                page.wait_for_timeout(500)
            page.screenshot(path=str(out))
            browser.close()
    finally:
        server.stop()


def main(out: Path = HERE / "study-page.png") -> None:
    with tempfile.TemporaryDirectory(prefix="dialed-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'dialed.db'}"
        build(url)
        photograph(url, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:2]))
