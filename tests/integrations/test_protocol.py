"""The protocol the integrations share, on a real study."""

from __future__ import annotations

import pytest

import dialed
from dialed.errors import ConfigError, Pruned
from dialed.integrations import (
    MetricNotProducedError,
    ReportingTrial,
    check_produced,
    report_and_check,
    require_trial,
    stop_trial,
)


def test_a_live_trial_reports_and_is_pruned_by_the_study_pruner() -> None:
    study = dialed.create_study(direction="minimize", seed=0,
                                pruner={"name": "median", "n_startup_trials": 1})
    first = study.ask()
    assert isinstance(first, ReportingTrial)
    for step in range(3):
        assert report_and_check(first, 0.1, step) is False
    study.tell(first, 0.1)
    second = require_trial(study.ask(), "Callback")
    assert report_and_check(second, 5.0, 0) is True
    error = stop_trial(second, 0, "Callback")
    assert isinstance(error, Pruned) and "pruned at step 0" in str(error)
    assert second.user_attrs["pruned_at"] == 0


@pytest.mark.parametrize("bad", [None, 3, "trial"])
def test_a_callback_without_a_trial_is_one_line(bad: object) -> None:
    with pytest.raises(ConfigError, match=r"^PruningCallback needs the trial") as info:
        require_trial(bad, "PruningCallback")
    assert "\n" not in str(info.value)


def test_a_metric_never_produced_lists_those_that_were() -> None:
    check_produced("cb", "valid l2", ["valid l2", "train l2"])
    with pytest.raises(MetricNotProducedError) as info:
        check_produced("cb", "valid auc", ["valid l2", "train l2"])
    assert str(info.value) == (
        "cb: the training never produced 'valid auc'; it produced: 'train l2', 'valid l2'"
    )
    assert info.value.produced == ["train l2", "valid l2"]


def test_importing_the_integrations_loads_none_of_the_libraries() -> None:
    import json
    import subprocess
    import sys

    code = ("import dialed, dialed.integrations, sys, json\n"
            "print(json.dumps(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    heavy = {"sklearn", "lightgbm", "xgboost", "torch", "lightning", "transformers", "mlflow",
             "tensorboard", "optuna"}
    assert not {m.split(".")[0] for m in loaded} & heavy
