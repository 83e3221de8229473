"""Population-based training: the exploit step copies a better member's checkpoint, the
explore step perturbs its settings, each member's schedule is recorded; bad studies refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dialed
from dialed import TrialState
from dialed.errors import ConfigError

RESOURCE = {"name": "steps", "min": 1, "max": 12}


def _toy(trial: dialed.Trial) -> float:
    """The toy problem of Jaderberg et al. (2017), section 4.1: gradient ascent on the
    surrogate 1.2 - (h0 t0^2 + h1 t1^2), evaluated on the true 1.2 - |t|^2."""
    h = np.array([trial.suggest_float("h0", 0.0, 1.0), trial.suggest_float("h1", 0.0, 1.0)])
    ck = trial.load_checkpoint()
    step, theta = (ck["step"], np.array(ck["theta"])) if ck else (0, np.array([0.9, 0.9]))
    q = 1.2 - float(theta @ theta)
    while step < 12:
        step += 1
        theta = theta - 0.05 * 2 * h * theta
        q = 1.2 - float(theta @ theta)
        trial.report(q, step)
        trial.save_checkpoint({"step": step, "theta": theta.tolist(), "member_h": h.tolist()})
        if trial.should_prune():
            raise dialed.Pruned()
    return q


def _study(tmp_path: Path, **options: Any) -> dialed.Study:
    return dialed.create_study(
        "pbt", storage=f"sqlite:///{tmp_path / 'pbt.db'}", seed=5, direction="maximize",
        pruner={"name": "pbt", "population": 4, "interval": 3, **options}, resource=RESOURCE,
    )


def test_exploit_copies_a_better_members_checkpoint_and_the_trajectory_is_recorded(
    tmp_path: Path,
) -> None:
    study = _study(tmp_path)
    study.optimize(_toy, n_trials=16)
    trials = study.trials
    assert [t.state for t in trials].count(TrialState.COMPLETE) == 4
    assert {t.system_attrs["pbt_round"] for t in trials} == {0, 1, 2, 3}
    exploits = [t for t in trials
                if (t.system_attrs.get("pbt_trajectory") or [{}])[-1].get("copied_from")]
    assert exploits, "no member exploited a better one"
    for t in exploits:
        member, rnd = t.system_attrs["pbt_member"], t.system_attrs["pbt_round"]
        copied = t.system_attrs["pbt_trajectory"][-1]["copied_from"]
        source = study.storage.get_trial_by_number(study.study_id, copied["trial"])
        # the better member's trial of the round before, ranked above the exploiting member's
        assert source.system_attrs["pbt_round"] == rnd - 1 and copied["member"] != member
        own = next(s for s in trials if s.system_attrs["pbt_member"] == member
                   and s.system_attrs["pbt_round"] == rnd - 1)
        assert source.intermediate[source.last_step] > own.intermediate[own.last_step]
        # the checkpoint it resumed from is the better member's: its curve continues that one
        assert t.system_attrs["resumed_from"] == {"trial": source.number,
                                                  "step": source.last_step}
        assert {s: v for s, v in t.intermediate.items() if s <= source.last_step} \
            == dict(source.intermediate)
    # every member's trajectory: its settings round by round, ending with its last trial's
    for t in trials:
        path = t.system_attrs.get("pbt_trajectory")
        if path is not None:
            assert [p["round"] for p in path] == list(range(t.system_attrs["pbt_round"] + 1))
            assert path[-1]["params"] == dict(t.params)


def test_perturbation_factors_without_resampling(tmp_path: Path) -> None:
    study = _study(tmp_path, resample_probability=0.0)
    study.optimize(_toy, n_trials=16)
    for t in study.trials:
        copied = (t.system_attrs.get("pbt_trajectory") or [{}])[-1].get("copied_from")
        if not copied:
            continue
        source = study.storage.get_trial_by_number(study.study_id, copied["trial"])
        for name in ("h0", "h1"):
            want = {min(1.0, source.params[name] * f) for f in (0.8, 1.2)}
            assert any(np.isclose(t.params[name], w) for w in want)


def test_pbt_beats_its_first_settings_on_the_toy_problem(tmp_path: Path) -> None:
    study = _study(tmp_path)
    study.optimize(_toy, n_trials=16)
    founders = [t for t in study.trials if t.system_attrs["pbt_round"] == 0]
    # the best member ends better than training the best founding settings would: the
    # population moved its settings (an honest, seeded check of the whole loop)
    assert study.best_value > max(t.intermediate[3] for t in founders)


def test_a_round_without_a_checkpoint_fails_its_trial_in_one_line(tmp_path: Path) -> None:
    study = _study(tmp_path)

    def forgetful(trial: dialed.Trial) -> float:
        x = trial.suggest_float("h0", 0.0, 1.0)
        for step in range(1, 13):
            trial.report(x, step)
            if trial.should_prune():
                raise dialed.Pruned()
        return x

    study.optimize(forgetful, n_trials=4)
    for t in study.trials:
        assert t.state == TrialState.FAILED
        assert (t.error or "").splitlines() == [
            "pbt needs checkpoints: the trial ended its round without trial.save_checkpoint"
            "(...), so no other trial can continue from it"]


def test_bad_pbt_studies_are_refused_before_they_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="declare it") as err:
        dialed.create_study("x", pruner="pbt")
    assert "\n" not in str(err.value)
    study = _study(tmp_path)
    with pytest.raises(ConfigError, match="population of 4 is larger than the budget of 3"):
        study.optimize(_toy, n_trials=3)
    assert study.trials == []
    with pytest.raises(ConfigError, match="population must be a whole number >= 2"):
        dialed.create_study("y", pruner={"name": "pbt", "population": 1}, resource=RESOURCE)


def test_auto_never_chooses_pbt() -> None:
    from dialed.pruners import AutoPruner

    assert "pbt" not in AutoPruner.__module__ and "PBT" not in (AutoPruner.__doc__ or "")
    study = dialed.create_study(resource=RESOURCE, seed=1)

    def curve(trial: dialed.Trial) -> float:
        for step in range(1, 13):
            trial.report(trial.suggest_float("x", 0, 1) / step, step)
        return 0.0

    study.optimize(curve, n_trials=3)
    assert study.attrs["pruner_decision"]["pruner"] != "pbt"


def test_pbt_with_worker_processes(tmp_path: Path) -> None:
    study = _study(tmp_path)
    study.optimize(_toy, n_trials=16, n_jobs=2)
    trials = study.trials
    assert [t.state for t in trials].count(TrialState.COMPLETE) == 4
    # every round's trial of every member ran once: no member founded twice, none lost
    rounds = sorted((t.system_attrs["pbt_member"], t.system_attrs["pbt_round"])
                    for t in trials)
    members = sorted({m for m, _ in rounds})
    assert len(members) == 4 and rounds == [(m, r) for m in members for r in range(4)]
