"""The workflow on a synthetic objective whose families have known effects.

loss = f_opt(lr) + f_reg(alpha) + noise(seed): the optimizer family can gain exactly
f_opt(baseline lr) - f_opt(lr) and the regularization family f_reg(baseline alpha) - f_reg(alpha),
independently, so each stage's measured gain can be checked against the truth.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import dialed
from dialed.errors import ConfigError, WorkflowError
from dialed.history import History
from dialed.samplers import RandomSampler, Sampler
from dialed.space import Space
from dialed.workflow import StageSampler, Workflow

NOISE = 0.01
BASELINE = {"lr": 1e-4, "alpha": 0.9}


def f_opt(lr: float) -> float:
    return 0.1 * (math.log10(lr) + 2.0) ** 2  # best at lr = 0.01


def f_reg(alpha: float) -> float:
    return (alpha - 0.3) ** 2  # best at alpha = 0.3


def truth(params: dict[str, Any]) -> float:
    return f_opt(params["lr"]) + f_reg(params["alpha"])


def objective(trial: dialed.Trial) -> dict[str, float]:
    lr = trial.suggest_float("lr", 1e-4, 1.0, log=True, family="optimizer")
    alpha = trial.suggest_float("alpha", 0.0, 1.0, family="regularization")
    noise = float(np.random.default_rng(trial.seed).normal(0.0, NOISE))
    loss = f_opt(lr) + f_reg(alpha) + noise
    return {"loss": loss, "acc": 1.0 - loss}


class Counted:
    """A test function that counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, params: dict[str, Any], seed: int) -> dict[str, float]:
        self.calls += 1
        loss = truth(params) + 0.002
        return {"loss": loss, "acc": 1.0 - loss}


def new_study(name: str = "wf", seed: int = 0) -> dialed.Study:
    return dialed.create_study(name, metrics={"loss": "minimize", "acc": "track"}, seed=seed)


@pytest.fixture(scope="module")
def staged() -> tuple[dialed.Study, Workflow, Counted]:
    """Baseline, an optimizer stage, a regularization stage, confirm (shared: it is slow-ish)."""
    study = new_study()
    wf = Workflow(study, objective, baseline=BASELINE, targets=["acc >= 0.99", "loss <= 0.001"],
                  repeats=5)
    counted = Counted()
    wf.run_baseline()
    wf.run_stage("optimizer", trials=16)
    wf.run_stage(["regularization"], trials=16, name="reg")
    wf.confirm(top=3)
    return study, wf, counted


def test_the_baseline_is_evaluated_first_with_fresh_seeds(staged: Any) -> None:
    study, wf, _ = staged
    base = wf.baseline()
    assert base is not None and base.n == 5 and base.params == BASELINE
    first = study.trials[:5]
    assert [t.number for t in first] == list(base.trials) == [0, 1, 2, 3, 4]
    assert all(t.system_attrs["role"] == "baseline" for t in first)
    assert [t.system_attrs["repeat"] for t in first] == [0, 1, 2, 3, 4]
    assert len({t.seed for t in first}) == 5  # a fresh seed per repeat
    assert base.mean("loss") == pytest.approx(truth(BASELINE), abs=3 * NOISE)


def test_each_stage_tunes_only_its_family_with_the_rest_at_the_incumbent(staged: Any) -> None:
    study, wf, _ = staged
    s1, s2 = wf.stages()
    stage1 = [t for t in study.trials if s1.first_number <= t.number
              and not t.system_attrs.get("role")][:s1.n_search]
    assert len(stage1) == 16
    assert {t.params["alpha"] for t in stage1} == {BASELINE["alpha"]}
    assert len({t.params["lr"] for t in stage1}) == 16
    stage2 = [t for t in study.trials if t.number >= s2.first_number
              and not t.system_attrs.get("role")]
    assert len(stage2) == 16
    assert {t.params["lr"] for t in stage2} == {s1.incumbent.params["lr"]}
    assert s1.tuned == ("lr",) and s2.tuned == ("alpha",) and s2.name == "reg"


def test_stage_gains_recover_each_familys_known_effect(staged: Any) -> None:
    _, wf, _ = staged
    s1, s2 = wf.stages()
    assert s1.adopted and s2.adopted and s1.gain is not None and s2.gain is not None
    assert s1.candidate is not None and s2.candidate is not None
    # the true gain of each stage's candidate over its starting point is known exactly
    true1 = truth(s1.start.params) - truth(s1.candidate.params)
    true2 = truth(s2.start.params) - truth(s2.candidate.params)
    assert s1.gain.contains(true1) and s2.gain.contains(true2)
    assert s1.gain.low > 0 and s2.gain.low > 0  # both clearly real
    # and each is close to the whole effect of its family (baseline to its optimum)
    assert true1 == pytest.approx(f_opt(BASELINE["lr"]), abs=0.03)
    assert true2 == pytest.approx(f_reg(BASELINE["alpha"]), abs=0.03)
    # stage 2 starts exactly where stage 1 ended: the same evaluations
    assert s2.start == s1.incumbent


def test_attribution_sums_to_the_total_gain(staged: Any) -> None:
    _, wf, _ = staged
    summary = wf.summary()
    att = summary.attribution
    assert att is not None and att.total is not None and att.attributable
    assert att.credited == pytest.approx(att.total.value, abs=1e-12)
    s1, s2 = wf.stages()
    true_total = truth(BASELINE) - truth(s2.incumbent.params)
    half = (att.total.high - att.total.low) / 2
    assert abs(att.total.value - true_total) < 2 * half  # a single interval may miss; see below
    assert att.by_family() == pytest.approx({"optimizer": s1.gain.value,  # type: ignore[union-attr]
                                             "regularization": s2.gain.value})  # type: ignore[union-attr]


def test_gain_intervals_cover_the_true_gains_across_seeds() -> None:
    """95% intervals should hold the truth about 95% of the time (12 staged runs)."""
    stage_hits = total_hits = 0
    for seed in range(12):
        wf = Workflow(new_study(f"cover-{seed}", seed=seed), objective, baseline=BASELINE,
                      repeats=4)
        s1 = wf.run_stage("optimizer", trials=8)
        s2 = wf.run_stage("regularization", trials=8)
        for s in (s1, s2):
            assert s.gain is not None and s.candidate is not None
            stage_hits += s.gain.contains(truth(s.start.params) - truth(s.candidate.params))
        att = wf.summary().attribution
        assert att is not None and att.total is not None
        assert att.credited == pytest.approx(att.total.value, abs=1e-12)
        total_hits += att.total.contains(truth(BASELINE) - truth(s2.incumbent.params))
    assert stage_hits >= 20 and total_hits >= 10, (stage_hits, total_hits)


def test_confirm_ranks_by_fresh_evaluations_and_is_stable_against_the_baseline(
    staged: Any,
) -> None:
    study, wf, counted = staged
    [round1] = wf.confirmations()
    assert len(round1.candidates) == 3 and round1.repeats == 5
    means = [c.evaluation.mean("loss") for c in round1.candidates]
    assert means == sorted(means)
    for c in round1.candidates:
        trials = [study.storage.get_trial_by_number(study.study_id, n) for n in c.evaluation.trials]
        assert all(t.system_attrs["step"] == "confirm:1" for t in trials)
        assert c.vs_baseline is not None and c.vs_baseline.low > 0
        assert c.overlaps_baseline is False
    assert not round1.unstable and "clear of the baseline" in round1.reason
    assert round1.welch is not None and round1.welch.p_value < 1e-6
    assert counted.calls == 0  # nothing so far touched the test function


def test_verify_once_then_refused_then_forced_and_recorded(staged: Any) -> None:
    study, wf, counted = staged
    assert counted.calls == 0  # baseline, stages and confirm never call it
    first = wf.verify(counted)
    assert counted.calls == 1 and first.number == 1 and not first.forced
    assert first.params == wf.recommended().evaluation.params  # type: ignore[union-attr]
    assert first.test["loss"] == pytest.approx(truth(first.params) + 0.002)
    assert first.gap["loss"] == pytest.approx(first.test["loss"] - first.validation["loss"])
    assert not first.flagged and first.threshold is not None and first.rule
    with pytest.raises(WorkflowError, match="already evaluated on the test data"):
        wf.verify(counted)
    assert counted.calls == 1
    forced = wf.verify(counted, force=True)
    assert counted.calls == 2 and forced.number == 2 and forced.forced
    assert [v.forced for v in wf.verifications()] == [False, True]
    assert study.attrs["workflow:verify:2"]["forced"] is True
    text = wf.summary().to_text()
    assert "#2 (forced)" in text and "locked test (2 evaluations" in text


def test_summary_shows_baseline_best_targets_and_stages(staged: Any) -> None:
    _, wf, _ = staged
    text = wf.summary().to_text()
    for part in ("baseline     loss", "best so far", "[confirmed, round 1]", "targets",
                 "acc >= 0.99", "loss <= 0.001", "stages (gain", "optimizer", "reg",
                 "total gain over the baseline", "confirm round 1", "recommended: rank 1"):
        assert part in text, part
    data = wf.summary().to_dict()
    assert data["baseline"]["params"] == BASELINE
    assert [s["name"] for s in data["stages"]] == ["optimizer", "reg"]
    rows = {r["target"]: r for r in data["targets"]}
    assert rows["loss <= 0.001"]["distance"] == pytest.approx(
        max(0.0, data["best"]["metrics"]["loss"] - 0.001))


def test_a_crashed_stage_resumes_without_running_anything_twice() -> None:
    study = new_study("resume", seed=3)
    calls = {"n": 0}

    def flaky(trial: dialed.Trial) -> dict[str, float]:
        calls["n"] += 1
        if calls["n"] == 9:  # the 4th search trial of the stage dies with the process
            raise KeyboardInterrupt
        return objective(trial)

    wf = Workflow(study, flaky, baseline=BASELINE, repeats=3, catch=False)
    with pytest.raises(KeyboardInterrupt):
        wf.run_stage("optimizer", trials=6)
    assert study.attrs["workflow:stage:1"]["status"] == "searching"
    wf2 = Workflow(study, objective)
    with pytest.raises(WorkflowError, match="interrupted; resume it first"):
        wf2.run_stage("regularization", trials=4)
    result = wf2.run_stage("optimizer", trials=6)
    search = [t for t in study.trials if not t.system_attrs.get("role")]
    assert len([t for t in search if t.state.finished]) == 6  # 3 done + the failed + 2 more
    assert result.n_search == 6 and wf2.baseline().n == 3  # type: ignore[union-attr]
    assert len([t for t in study.trials if t.system_attrs.get("role") == "baseline"]) == 3


def test_an_unstaged_search_says_its_gain_cannot_be_attributed() -> None:
    study = new_study("flat", seed=1)
    wf = Workflow(study, objective, baseline=BASELINE, repeats=3)
    result = wf.search(trials=12)
    assert result.families is None and not result.attributable and set(result.tuned) == {
        "lr", "alpha"}
    text = wf.summary().to_text()
    assert "all (unstaged)" in text
    assert "cannot be attributed" in text
    assert wf.summary().attribution is not None
    assert not wf.summary().attribution.attributable  # type: ignore[union-attr]


def test_a_plain_study_summary_without_any_workflow() -> None:
    study = new_study("plain", seed=2)
    study.optimize(objective, n_trials=6)
    text = dialed.workflow.summarize(study).to_text()
    assert "none named" in text and "best single trial" in text
    assert "no stages: the 6 search trials changed 2 families together" in text
    assert "cannot be attributed" in text
    assert "workflow:plan" not in study.attrs  # reading a summary writes nothing


def test_the_stage_sampler_sees_only_the_stage_sub_space() -> None:
    seen: list[tuple[list[str], list[list[str]]]] = []

    class Recording(RandomSampler):
        def suggest(self, history: History, space: Space, number: int) -> dict[str, Any]:
            seen.append((list(space), [sorted(t.params) for t in history.trials]))
            return super().suggest(history, space, number)

    study = new_study("view", seed=4)
    wf = Workflow(study, objective, baseline=BASELINE, repeats=2)
    wf.run_baseline()
    inner: Sampler = Recording(seed=1)
    sampler = StageSampler(inner, ["alpha"], BASELINE, first_number=len(study.trials),
                           start_numbers=[0, 1])
    import dataclasses

    runner = dialed.Study(dataclasses.replace(study.context, sampler=sampler))
    runner.optimize(objective, n_trials=3)
    assert [s for s, _ in seen] == [["alpha"]] * 3
    assert all(p == ["alpha"] for _, hist in seen for p in hist)
    assert [len(hist) for _, hist in seen] == [2, 3, 4]  # the incumbent's 2 runs, then its own
    assert {t.params["lr"] for t in study.trials[2:]} == {BASELINE["lr"]}


def test_bad_plans_are_config_errors_naming_the_field() -> None:
    study = new_study("bad", seed=5)
    study.optimize(objective, n_trials=1)
    with pytest.raises(ConfigError, match="baseline: parameter 'lr'"):
        Workflow(study, objective, baseline={"lr": 5.0, "alpha": 0.5})
    with pytest.raises(ConfigError, match="repeats must be a whole number >= 2"):
        Workflow(study, objective, repeats=1)
    with pytest.raises(ConfigError, match="no metric 'f1'"):
        Workflow(study, objective, targets=["f1 >= 0.5"])
    wf = Workflow(study, objective, baseline=BASELINE, repeats=2)
    with pytest.raises(ConfigError, match="no parameter of family architecture"):
        wf.run_stage("architecture", trials=2)
    with pytest.raises(WorkflowError, match="no confirmed recommendation"):
        wf.verify(Counted())
    with pytest.raises(WorkflowError, match="cannot change now"):
        Workflow(study, objective, baseline={"lr": 0.01, "alpha": 0.5})
    no_objective = Workflow(new_study("none", seed=6), baseline=BASELINE)
    with pytest.raises(ConfigError, match="needs the objective"):
        no_objective.run_baseline()
