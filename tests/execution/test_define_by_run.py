"""A define-by-run objective declares its parameters as it runs: the sampler sees each one as
soon as it is declared, whatever the pruner read before the objective started."""

from __future__ import annotations

from typing import Any

import pytest

import dialed

RESOURCE = {"name": "epochs", "min": 1, "max": 27, "reduction_factor": 3}


def _first_trial(pruner: str, resource: dict[str, Any] | None) -> dict[str, Any]:
    study = dialed.create_study("dbr", sampler="auto", pruner=pruner, seed=3, resource=resource)
    trial = study.ask()
    for i in range(4):
        trial.suggest_float(f"x{i}", 0.0, 1.0)
    trial.report(0.5, 1)
    assert not trial.should_prune()
    study.tell(trial, 0.5)
    return study.get_trials()[0].params


@pytest.mark.parametrize("pruner", ["hyperband", "asha", "auto"])
def test_a_pruner_that_tags_trials_at_start_proposes_what_no_pruner_does(pruner: str) -> None:
    # Hyperband tags each trial with its bracket before the objective runs, reading the
    # history while no parameter is declared yet; the parameters declared after the first
    # (which the joint proposal of the first did not cover) must still come from the sampler
    # the study's space calls for, not from the one chosen for an empty space.
    plain = _first_trial("none", None)
    assert _first_trial(pruner, RESOURCE) == plain
    assert len(set(plain.values())) == 4
