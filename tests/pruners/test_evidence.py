"""The evidence that a rung predicts the full budget: the rank-correlation estimate on curves
whose correlation is known by construction, and an ASHA that backs off where cheap budgets
mislead (and keeps pruning where they predict)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

import dialed
from dialed import TrialState
from dialed.history import History
from dialed.pruners import PAUSED, ASHAPruner, Resource
from dialed.pruners._evidence import (
    WITNESS_EVERY,
    fidelity_evidence,
    spearman,
    spearman_interval,
    witness,
)
from dialed.pruners._pause import pause_verdict, paused_rung

from ._helpers import history, record

LEVELS = (1.0, 3.0, 9.0)


def _curves(rho: float, n: int, seed: int) -> list[dict[int, float]]:
    """Curves of 27 steps whose value at every rung has correlation ``rho`` with the final
    value (a shared Gaussian factor), the final value being the value at step 27."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        final = rng.standard_normal()
        early = rho * final + np.sqrt(1 - rho ** 2) * rng.standard_normal()
        out.append({1: early, 3: early, 9: early, 27: final})
    return out


def test_spearman_matches_scipy_with_ties() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, 40).astype(float)
    b = a + rng.integers(0, 3, 40)
    assert spearman(a, b) == pytest.approx(float(spearmanr(a, b).statistic))
    assert spearman([1, 1, 1], [1, 2, 3]) == 0.0


@pytest.mark.parametrize("rho", [0.95, 0.6, 0.0, -0.5])
def test_the_estimate_covers_the_constructed_correlation(rho: float) -> None:
    """Over many constructed studies the 95% interval holds the true rank correlation about
    as often as it says (Spearman's rho of a bivariate normal: 6/pi asin(rho/2))."""
    truth = 6 / np.pi * np.arcsin(rho / 2)
    covered = 0
    for seed in range(200):
        curves = _curves(rho, 30, seed)
        evidence = fidelity_evidence(history([record(i, c) for i, c in enumerate(curves)]),
                                     LEVELS)
        e = evidence[0]
        assert e.pairs == 30 and e.rho is not None
        covered += e.low <= truth <= e.high  # type: ignore[operator]
    assert covered >= 180  # 95% nominal: at least 90% of 200


def test_only_a_rung_that_predicts_is_trusted() -> None:
    faithful = fidelity_evidence(history([record(i, c) for i, c in
                                          enumerate(_curves(0.95, 12, 1))]), LEVELS)
    misleading = fidelity_evidence(history([record(i, c) for i, c in
                                            enumerate(_curves(0.0, 12, 1))]), LEVELS)
    assert all(e.predicts for e in faithful)
    assert not any(e.predicts for e in misleading)
    few = fidelity_evidence(history([record(i, c) for i, c in
                                     enumerate(_curves(0.95, 2, 1))]), LEVELS)
    assert not any(e.predicts for e in few) and few[0].rho is None
    lo, hi = spearman_interval(0.5, 3)
    assert (lo, hi) == (-1.0, 1.0)


def _study(noise: float, bias: float, seed: int, pause: bool = False) -> dialed.Study:
    """ASHA with evidence on constructed curves: the final value is a bowl; the cheap budgets
    add a bias towards another bowl and noise, both shrinking to none at the full budget."""
    study = dialed.create_study(seed=seed, sampler="random",
                                pruner=ASHAPruner(evidence=True, pause=pause),
                                resource=Resource.from_spec({"name": "epochs", "min": 1,
                                                             "max": 27}))

    def objective(trial: dialed.Trial) -> float:
        x = np.array([trial.suggest_float("a", 0, 1), trial.suggest_float("b", 0, 1)])
        final = float(np.sum((x - 0.7) ** 2))
        moved = float(np.sum((x - 0.2) ** 2))
        rng = np.random.default_rng(trial.seed)
        value = final
        for epoch in range(1, 28):
            gap = 1 - epoch / 27
            value = final + gap * bias * (moved - final) + gap * noise * rng.standard_normal()
            trial.report(value, epoch)
            if trial.should_prune():
                raise dialed.Pruned()
        return value

    study.optimize(objective, n_trials=40)
    return study


def test_asha_backs_off_where_cheap_budgets_mislead() -> None:
    misled = _study(noise=0.3, bias=1.2, seed=3)
    pruned = misled.get_trials([TrialState.PRUNED])
    # the rungs never showed they predict: hardly anything was stopped by them
    assert len(pruned) <= 4, [t.system_attrs.get("prune_reason") for t in pruned]
    faithful = _study(noise=0.0, bias=0.0, seed=3)
    stopped = faithful.get_trials([TrialState.PRUNED])
    assert len(stopped) >= 15  # where the rungs predict, ASHA saves as it always did
    reasons = [t.system_attrs["prune_reason"] for t in stopped]
    assert all("rank correlation with the full budget" in r and "predicts" in r for r in reasons)


def test_paused_asha_pauses_only_at_rungs_that_predict() -> None:
    """With ``pause`` too, a rung that has not shown it predicts pauses no trial (it runs on
    to the next rung that may stop it, or to the full budget), and promotions rank each
    paused trial at the rung where it stopped."""
    misled = _study(noise=0.3, bias=1.2, seed=3, pause=True)
    paused = [t for t in misled.trials if t.system_attrs.get("paused")]
    assert len(paused) <= 4, [t.system_attrs.get("prune_reason") for t in paused]
    faithful = _study(noise=0.0, bias=0.0, seed=3, pause=True)
    paused = [t for t in faithful.trials if t.system_attrs.get("paused")]
    assert len(paused) >= 15
    assert all(t.system_attrs["prune_reason"].startswith(PAUSED) for t in paused)
    # every promotion continues a paused trial one rung above the one where it stopped
    by_number = {t.number: t for t in faithful.trials}
    promoted = [t for t in faithful.trials if "resume_from" in t.system_attrs]
    assert promoted
    for t in promoted:
        src = by_number[t.system_attrs["resume_from"]]
        assert t.system_attrs["rung"] == paused_rung(src, 1.0, 27.0, 3.0) + 1


def test_a_refused_rung_is_passed_without_a_pause() -> None:
    curve = {1: 0.5, 2: 0.5, 3: 0.5}
    trial = record(7, curve, TrialState.RUNNING)
    assert pause_verdict(trial, first=1, high=27, eta=3, label="ASHA",
                         unit="epochs").startswith(PAUSED + "rung 1 ")
    unproven = pause_verdict(trial, first=1, high=27, eta=3, label="ASHA", unit="epochs",
                             refusal=lambda rung, n: "unproven" if rung == 1 else None)
    assert unproven.startswith(PAUSED + "rung 3 ")
    assert pause_verdict(trial, first=1, high=27, eta=3, label="ASHA", unit="epochs",
                         refusal=lambda rung, n: "unproven") is None
    stopped = record(7, curve, TrialState.PRUNED)
    assert paused_rung(stopped, 1, 27, 3) == 1
    assert paused_rung(record(8, {1: 0.5}, TrialState.PRUNED), 1, 27, 3) == 0


def test_a_cheap_rung_predicts_only_below_dearer_ones_that_do() -> None:
    """(E4): rung 1 ranks four trials as the full budget does, rung 9 the other way round:
    rung 1's agreement is taken for chance."""
    finals = [1.0, 2.0, 3.0, 4.0, 5.0]
    trials = [record(i, {1: f, 3: f, 9: -f, 27: f}) for i, f in enumerate(finals)]
    found = fidelity_evidence(history(trials), LEVELS)
    assert [e.rho for e in found][:2] == [1.0, 1.0] and found[2].rho == -1.0
    assert not any(e.predicts for e in found)
    faithful = fidelity_evidence(history([record(i, {1: f, 3: f, 9: f, 27: f})
                                          for i, f in enumerate(finals)]), LEVELS)
    assert all(e.predicts for e in faithful)


def test_evidence_settles_once_its_interval_clears_the_threshold() -> None:
    """(E3): three agreeing pairs predict but are not settled; many agreeing pairs are."""
    few = fidelity_evidence(history([record(i, {1: i, 3: i, 9: i, 27: i})
                                     for i in range(3)]), LEVELS)
    assert all(e.predicts and not e.settled for e in few)
    assert "witnesses" in few[0].describe("epochs")
    many = fidelity_evidence(history([record(i, c) for i, c in
                                      enumerate(_curves(0.98, 30, 1))]), LEVELS)
    assert all(e.predicts and e.settled for e in many)


def test_witnesses_run_on_while_the_evidence_is_not_settled() -> None:
    """(E3): with three agreeing pairs rung 1 stops trials, but not a witness (one trial in
    WITNESS_EVERY, by its number); once settled it stops witnesses too."""
    pruner = ASHAPruner(evidence=True)
    pruner.bind(Resource.from_spec({"name": "epochs", "min": 1, "max": 27}),
                history([]).metrics)
    done = [record(i, {1: float(i), 3: float(i), 9: float(i), 27: float(i)}) for i in range(3)]
    bad = 10.0  # worse than every trial at rung 1
    verdicts: dict[int, str | None] = {}
    for number in range(3, 3 + WITNESS_EVERY):
        trial = record(number, {1: bad}, TrialState.RUNNING)
        verdicts[number] = pruner.should_prune(history([*done, trial]), trial)
    assert [n for n, v in verdicts.items() if v is None] == [
        n for n in verdicts if witness(n)]
    settled = [record(i, c) for i, c in enumerate(_curves(0.98, 30, 1))]
    number = next(n for n in range(30, 40) if witness(n))
    trial = record(number, {1: 1e9}, TrialState.RUNNING)
    assert pruner.should_prune(history([*settled, trial]), trial) is not None


def test_the_sampler_sees_a_cheap_budget_only_once_its_evidence_is_settled() -> None:
    """A rung that predicts on three agreeing pairs may stop trials, but the sampler's view
    stays at the full budget until the rung's evidence is settled (E3)."""
    pruner = ASHAPruner(evidence=True, min_observations=20)
    pruner.bind(Resource.from_spec({"name": "epochs", "min": 1, "max": 27}),
                history([]).metrics)
    done = [record(i, {1: float(i), 3: float(i), 9: float(i), 27: float(i)}) for i in range(3)]
    stopped = [record(i, {1: float(i)}, TrialState.PRUNED) for i in range(3, 12)]
    thin = history([*done, *stopped])
    assert all(e.predicts and not e.settled for e in pruner.evidence(thin).values())
    view = pruner.sampler_history(thin, {})
    assert sorted(t.number for t in view.complete) == [0, 1, 2]
    assert {t.system_attrs["fidelity"] for t in view.complete} == {"full"}

    agreeing = [record(i, c) for i, c in enumerate(_curves(0.98, 10, 1))]
    stopped = [record(10 + i, {1: float(i)}, TrialState.PRUNED) for i in range(12)]
    settled = history([*agreeing, *stopped])
    assert all(e.settled for e in pruner.evidence(settled).values())
    view = pruner.sampler_history(settled, {})
    assert len(view.complete) == 22  # every trial, at rung 1: the only one with 20 values
    assert {t.system_attrs["fidelity"] for t in view.complete} == {1.0}


def test_the_sampler_learns_from_a_budget_only_where_it_ranks_the_best_trials_too() -> None:
    """(E5): cheap budgets that rank the worse half of 60 trials exactly and the better half in
    reverse are settled overall (rho 0.75), yet the sampler's view stays at the full budget;
    where they rank both halves right it moves to rung 1, the budget with the most values (20
    trials were stopped there)."""
    pruner = ASHAPruner(evidence=True, min_observations=70)
    pruner.bind(Resource.from_spec({"name": "epochs", "min": 1, "max": 27}),
                history([]).metrics)
    stopped = [record(60 + i, {1: 2.0 + i}, TrialState.PRUNED) for i in range(20)]

    def study(cheap: list[float]) -> History:
        return history([*(record(i, {1: c, 3: c, 9: c, 27: i / 60}) for i, c in
                          enumerate(cheap)), *stopped])

    mixed = study([(29 - i) / 60 if i < 30 else i / 60 for i in range(60)])
    found = pruner.evidence(mixed)
    assert all(e.predicts and e.settled and not e.best_predicts for e in found.values())
    assert all(e.best_rho == pytest.approx(-1.0) for e in found.values())
    assert "-1.00 among the better half, does not predict among the better" in found[1.0].describe(
        "epochs")
    view = pruner.sampler_history(mixed, {})
    assert {t.system_attrs["fidelity"] for t in view.complete} == {"full"}

    faithful = study([i / 60 + 0.1 for i in range(60)])
    assert all(e.feeds_model for e in pruner.evidence(faithful).values())
    view = pruner.sampler_history(faithful, {})
    assert len(view.complete) == 80
    assert {t.system_attrs["fidelity"] for t in view.complete} == {1.0}


def test_a_rung_that_orders_the_better_half_wrongly_stops_nothing() -> None:
    """(E5): the same cheap budgets that rank the better half of the trials in reverse predict
    overall (rho 0.75, settled), yet stop no trial; budgets that rank both halves right stop
    the trial that is worst at rung 1."""
    pruner = ASHAPruner(evidence=True)
    pruner.bind(Resource.from_spec({"name": "epochs", "min": 1, "max": 27}),
                history([]).metrics)
    trial = record(60, {1: 1e9}, TrialState.RUNNING)

    def verdict(cheap: list[float]) -> str | None:
        done = [record(i, {1: c, 3: c, 9: c, 27: i / 60}) for i, c in enumerate(cheap)]
        return pruner.should_prune(history([*done, trial]), trial)

    assert verdict([(29 - i) / 60 if i < 30 else i / 60 for i in range(60)]) is None
    assert "does not predict among the better trials: stops nothing" in (
        pruner.evidence_note() or "")
    assert verdict([i / 60 for i in range(60)]) is not None
