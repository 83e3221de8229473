from __future__ import annotations

import importlib.util
import pickle
from typing import Any

import pytest

from dialed.history import History
from dialed.metrics import MetricSet
from dialed.samplers import GPSampler, TPESampler
from dialed.samplers._auto import RULES, AutoSampler, choose, facts
from dialed.space import Space
from dialed.testing.samplers import MakeSampler, SamplerSuite, messy_history, random_history
from dialed.trial import TrialRecord, TrialState


def _have(module: str) -> bool:
    return importlib.util.find_spec(f"dialed.samplers.{module}") is not None


needs_gp = pytest.mark.skipif(not _have("_gp"), reason="GPSampler (samplers/_gp.py) not there yet")
needs_tpe = pytest.mark.skipif(not _have("_tpe"),
                               reason="TPESampler (samplers/_tpe.py) not there yet")


@needs_gp
@needs_tpe
class TestAutoSampler(SamplerSuite):
    """Without plan() the budget is open-ended: GP on the suite's space, TPE on its messy history
    (conditional parameters, pruned trials)."""

    @pytest.fixture
    def make_sampler(self) -> MakeSampler:
        return lambda seed: AutoSampler(seed=seed)


def _categoricals() -> Space:
    return Space({"opt": {"type": "categorical", "choices": ["sgd", "adam"]},
                  "act": {"type": "categorical", "choices": ["relu", "gelu", "tanh"]}})


def _floats(d: int) -> Space:
    return Space({f"x{i}": {"type": "float", "low": 0.0, "high": 1.0} for i in range(d)})


def _planned(space: Space, n_trials: int | None, metrics: MetricSet | None = None,
             n_jobs: int = 1) -> AutoSampler:
    sampler = AutoSampler(seed=0)
    sampler.plan(space, MetricSet() if metrics is None else metrics, n_trials=n_trials,
                 n_jobs=n_jobs)
    return sampler


def _decision(sampler: AutoSampler) -> dict[str, Any]:
    decision = sampler.decision()
    assert decision is not None
    assert set(decision) == {"sampler", "reason"}
    return decision


def test_no_decision_before_anything_is_known() -> None:
    assert AutoSampler().decision() is None


def test_grid_for_a_small_categorical_space_that_fits_the_budget() -> None:
    space = _categoricals()
    sampler = _planned(space, 20)
    decision = _decision(sampler)
    assert decision["sampler"] == "grid"
    assert "6 configurations" in decision["reason"] and "20 trials" in decision["reason"]
    assert sampler.finite
    cells = sampler.queue(space)
    assert cells is not None and len(cells) == 6
    assert sorted((c["opt"], c["act"]) for c in cells) == sorted(
        (o, a) for o in ("sgd", "adam") for a in ("relu", "gelu", "tanh"))
    assert sampler.queue(space) == cells  # seeded, the same in every worker
    clone = pickle.loads(pickle.dumps(sampler))  # sent to worker processes after plan()
    assert clone.finite and clone.queue(space) == cells


def test_a_parameter_outside_the_grid_is_drawn_not_refused() -> None:
    space = _categoricals()
    sampler = _planned(space, 20)
    cells = sampler.queue(space)
    assert cells is not None
    grown = Space({**space.to_dict(), "lr": {"type": "float", "low": 1e-4, "high": 1e-1}})
    history = History(grown, MetricSet())
    value = sampler.suggest_one(history, "lr", grown["lr"], 0, cells[0])
    assert grown["lr"].contains(value)
    assert _decision(sampler)["sampler"] == "grid" and sampler.finite


def test_all_discrete_space_is_a_grid_too() -> None:
    space = Space({"layers": {"type": "int", "low": 1, "high": 4},
                   "dropout": {"type": "float", "low": 0.0, "high": 0.2, "step": 0.1},
                   "act": {"type": "categorical", "choices": ["relu", "gelu"]}})
    decision = _decision(_planned(space, 30))
    assert decision["sampler"] == "grid" and "24 configurations" in decision["reason"]


def test_no_grid_when_it_does_not_fit_or_the_budget_is_open() -> None:
    space = _categoricals()
    for budget in (5, None):
        sampler = _planned(space, budget)
        assert _decision(sampler)["sampler"] == "tpe"
        assert "2 categorical parameters" in _decision(sampler)["reason"]
        assert not sampler.finite and sampler.queue(space) is None


def test_gp_and_tpe_for_a_few_floats_and_a_modest_budget() -> None:
    decision = _decision(_planned(_floats(4), 150))
    assert decision["sampler"] == "gp+tpe"
    assert "first 64 trials, then it and TPE take turns" in decision["reason"]
    assert "4 numeric parameters" in decision["reason"]
    assert "budget of 150 trials" in decision["reason"]
    short = _decision(_planned(_floats(4), 50))  # the budget ends within the GP's lead
    assert short["sampler"] == "gp+tpe" and "then it and TPE" not in short["reason"]
    assert "past them, TPE would take turns with it" in short["reason"]


def test_gp_and_tpe_early_then_tpe_on_an_open_ended_run() -> None:
    space = _floats(4)
    metrics = MetricSet()
    early = choose(facts(space, metrics, budget=None, history=random_history(space, n=20)))
    late = choose(facts(space, metrics, budget=None, history=random_history(space, n=300)))
    assert early[0] == "gp+tpe" and "up to 300 trials" in early[1]
    assert late[0] == "tpe" and "over 300 complete trials" in late[1]


def test_many_parameters_and_a_long_budget() -> None:
    decision = _decision(_planned(_floats(30), 1000))
    assert decision["sampler"] in ("cmaes", "tpe")
    assert "30 numeric parameters" in decision["reason"]
    assert "budget of 1000 trials" in decision["reason"]
    with_choice = Space({**_floats(30).to_dict(),
                         "act": {"type": "categorical", "choices": ["relu", "gelu"]}})
    decision = _decision(_planned(with_choice, 1000))
    assert decision["sampler"] == "tpe" and "31 parameters" in decision["reason"]
    decision = _decision(_planned(_floats(30), 200))
    assert decision["sampler"] == "tpe" and "budget of 200 trials" in decision["reason"]


def test_multi_objective_goes_to_gp_then_nsga2_or_tpe() -> None:
    metrics = MetricSet({"loss": "minimize", "latency": "minimize"})
    decision = _decision(_planned(_floats(4), 50, metrics))
    assert decision["sampler"] == "gp" and "2 objectives" in decision["reason"]
    assert "ParEGO" in decision["reason"]
    decision = _decision(_planned(_floats(30), 2000, metrics))
    assert decision["sampler"] == "gp" and "then nsga2" in decision["reason"]
    space = _floats(4)
    long_run = random_history(space, metrics, n=300)
    assert choose(facts(space, metrics, budget=2000, history=long_run))[0] == "nsga2"
    # conditional parameters or pruned trials: TPE, until the run is long
    messy = messy_history(space, metrics)
    sampler, reason = choose(facts(space, metrics, budget=100, history=messy))
    assert sampler == "tpe" and "2 objectives" in reason
    sampler, _ = choose(facts(_categoricals(), metrics, budget=None))
    assert sampler == "tpe"


def test_conditional_or_pruned_history_goes_to_tpe() -> None:
    space = _floats(4)
    history = messy_history(space)  # conditional parameters, pruned trials
    sampler, reason = choose(facts(space, MetricSet(), budget=50, history=history))
    assert sampler == "tpe" and "conditional" in reason
    trials = list(random_history(space, n=20).trials)
    trials.append(TrialRecord(trial_id=99, study_id=1, number=20, state=TrialState.PRUNED,
                              seed=0, params=trials[0].params, intermediate={0: 1.0}))
    history = History(space, MetricSet(), tuple(trials))
    sampler, reason = choose(facts(space, MetricSet(), budget=50, history=history))
    assert sampler == "tpe+random" and "pruned" in reason and "BOHB" in reason


def test_every_rule_can_decide() -> None:
    space = _floats(4)
    cases = [
        facts(_categoricals(), MetricSet(), budget=20),
        facts(Space(), MetricSet(), budget=20),
        facts(space, MetricSet({"a": "minimize", "b": "maximize"}), budget=50),
        facts(space, MetricSet({"a": "minimize", "b": "maximize"}), budget=None,
              history=random_history(space, MetricSet({"a": "minimize", "b": "maximize"}),
                                     n=300)),
        facts(space, MetricSet({"a": "minimize", "b": "maximize"}), budget=50,
              history=messy_history(space, MetricSet({"a": "minimize", "b": "maximize"}))),
        facts(_categoricals(), MetricSet(), budget=None),
        facts(space, MetricSet(), budget=50, history=messy_history(space)),
        facts(space, MetricSet(), budget=50, history=History(space, MetricSet(), (
            TrialRecord(trial_id=1, study_id=1, number=0, state=TrialState.PRUNED, seed=0),))),
        facts(space, MetricSet(), budget=50),
        facts(space, MetricSet(), budget=None),
        facts(space, MetricSet(), budget=None, history=random_history(space, n=300)),
        facts(_floats(30), MetricSet(), budget=1000),
        facts(_floats(30), MetricSet(), budget=100),
        facts(_floats(30), MetricSet(), budget=100, history=_screened_view(_floats(30))),
    ]
    reasons = [choose(f)[1] for f in cases]
    assert len(set(reasons)) == len(RULES)  # each rule's own sentence, none unreachable


@needs_gp
def test_suggest_delegates_and_records_the_choice() -> None:
    space = _floats(3)
    sampler = _planned(space, 40)
    history = random_history(space, n=12)
    params = sampler.suggest(history, space, 12)
    space.validate(params)
    assert _decision(sampler)["sampler"] == "gp+tpe"
    assert params == _planned(space, 40).suggest(history, space, 12)
    # the GP's alone for the first 64 trials, then even trials the GP's and odd ones TPE's,
    # each as it would propose alone
    gp, tpe = GPSampler(seed=sampler.seed), TPESampler(seed=sampler.seed)
    assert params == gp.suggest(history, space, 12)
    assert sampler.suggest(history, space, 13) == gp.suggest(history, space, 13)
    assert sampler.suggest(history, space, 64) == gp.suggest(history, space, 64)
    assert sampler.suggest(history, space, 65) == tpe.suggest(history, space, 65)


@needs_gp
def test_study_records_the_decision_and_runs_the_grid_once() -> None:
    import dialed

    grid_study = dialed.create_study(sampler=AutoSampler(), space=_categoricals(), seed=1)
    grid_study.optimize(lambda t: float(len(t.suggest_space(grid_study.space))), n_trials=20)
    assert len(grid_study.trials) == 6  # the grid is used up before the budget
    decision = grid_study.attrs.get("sampler_decision")
    assert decision is not None and decision["sampler"] == "grid"

    study = dialed.create_study(sampler=AutoSampler(), space=_floats(2), seed=1)
    study.optimize(lambda t: (t.suggest_float("x0", 0, 1) - 0.3) ** 2
                   + t.suggest_float("x1", 0, 1), n_trials=12)
    assert len(study.trials) == 12
    decision = study.attrs.get("sampler_decision")
    assert decision is not None and decision["sampler"] == "gp+tpe"
    assert "2 numeric parameters" in decision["reason"]


def test_space_unknown_before_the_run() -> None:
    sampler = _planned(Space(), 20)
    assert _decision(sampler)["sampler"] == "tpe" and not sampler.finite
    assert sampler.queue(Space()) is None


@needs_gp
def test_study_defining_its_space_as_it_runs() -> None:
    import dialed

    study = dialed.create_study(sampler=AutoSampler(), seed=2)
    study.optimize(lambda t: (t.suggest_float("x", 0, 1) - 0.3) ** 2
                   + t.suggest_int("n", 1, 4), n_trials=10)
    assert len(study.get_trials(["complete"])) == 10
    decision = study.attrs.get("sampler_decision")
    assert decision is not None and decision["sampler"] == "gp+tpe"
    assert "2 numeric parameters" in decision["reason"]


def test_describe() -> None:
    described = AutoSampler(seed=5).describe()
    assert described == {"name": "auto", "seed": 5, "options": {}}


def _screened_view(space: Space) -> History:
    """A multi-fidelity pruner's BOHB-style view: trials shown at the rung of 3 epochs."""
    from dataclasses import replace

    plain = random_history(space, n=12)
    tagged = tuple(replace(t, system_attrs={"fidelity": 3.0}) for t in plain.trials)
    return History(space, MetricSet(), tagged)


def test_trials_screened_at_a_lower_budget_count_as_pruned() -> None:
    # A multi-fidelity pruner shows the sampler the trials that reached a rung as complete
    # ones tagged with that rung (the BOHB-style view): they are screened trials.
    from dataclasses import replace

    space = _floats(3)
    plain = random_history(space, n=12)
    assert choose(facts(space, MetricSet(), budget=50, history=plain))[0] == "gp+tpe"
    view = _screened_view(space)
    sampler, reason = choose(facts(space, MetricSet(), budget=50, history=view))
    # the GP sees the screened trials at their budget through the view: it keeps the lead
    assert sampler == "gp+tpe" and "screened" in reason and "BOHB" in reason
    # beyond the GP's range, TPE with BOHB's random fraction
    wide = _floats(30)
    sampler, reason = choose(facts(wide, MetricSet(), budget=50, history=_screened_view(wide)))
    assert sampler == "tpe+random" and "screened" in reason
    full = tuple(replace(t, system_attrs={"fidelity": "full"}) for t in plain.trials)
    assert choose(facts(space, MetricSet(), budget=50,
                        history=History(space, MetricSet(), full)))[0] == "gp+tpe"
