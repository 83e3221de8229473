from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest

from dialed.errors import ConfigError
from dialed.history import History, Memo
from dialed.metrics import MetricSet
from dialed.samplers import RandomSampler, Sampler, SobolSampler
from dialed.samplers._cmaes import CMAESSampler, _Entry, _Run, _scores
from dialed.space import Space
from dialed.testing.samplers import MakeSampler, SamplerSuite, mixed_space
from dialed.trial import TrialRecord, TrialState


class TestCMAESSampler(SamplerSuite):
    @pytest.fixture
    def make_sampler(self) -> MakeSampler:
        return lambda seed: CMAESSampler(seed=seed)


class TestCMAESSamplerSmallPopulationWithStartup(SamplerSuite):
    @pytest.fixture
    def make_sampler(self) -> MakeSampler:
        return lambda seed: CMAESSampler(seed=seed, popsize=4, n_startup=5, restarts="none")


Objective = Callable[[Mapping[str, Any]], float]


def _record(number: int, params: Mapping[str, Any], state: TrialState = TrialState.COMPLETE,
            metrics: Mapping[str, float] | None = None) -> TrialRecord:
    return TrialRecord(trial_id=number + 1, study_id=1, number=number, state=state,
                       seed=number, params=dict(params), metrics=dict(metrics or {}))


def _run(sampler: Sampler, space: Space, objective: Objective, n: int,
         metrics: MetricSet | None = None) -> list[TrialRecord]:
    """A sequential study without the engine: ask, evaluate, record, ``n`` times."""
    metrics = MetricSet() if metrics is None else metrics
    trials: list[TrialRecord] = []
    for number in range(n):
        params = sampler.suggest(History(space, metrics, tuple(trials)), space, number)
        trials.append(_record(number, params, metrics={"value": objective(params)}))
    return trials


def _floats(d: int) -> Space:
    return Space({f"x{i}": {"type": "float", "low": -5.0, "high": 5.0} for i in range(d)})


def _sphere(params: Mapping[str, Any]) -> float:
    return float(sum((v - 1.7) ** 2 for v in params.values()))  # optimum off the centre


def test_beats_random_search_on_a_sphere() -> None:
    space = _floats(4)
    cma = [min(t.metrics["value"] for t in _run(CMAESSampler(seed=s), space, _sphere, 120))
           for s in range(5)]
    rnd = [min(t.metrics["value"] for t in _run(RandomSampler(seed=s), space, _sphere, 120))
           for s in range(5)]
    assert np.median(cma) < np.median(rnd) / 10, (cma, rnd)


def _mixed_integer_space() -> Space:
    return Space({
        "x": {"type": "float", "low": -3.0, "high": 3.0},
        "lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
        "layers": {"type": "int", "low": 1, "high": 8},
        "batch": {"type": "int", "low": 16, "high": 256, "step": 16},
        "width": {"type": "int", "low": 8, "high": 1024, "log": True},
        "dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
        "act": {"type": "categorical", "choices": ["relu", "tanh"]},
    })


def _mixed_objective(p: Mapping[str, Any]) -> float:
    return float((p["x"] - 1.0) ** 2 + (math.log10(p["lr"]) + 2.0) ** 2
                 + (p["layers"] - 3) ** 2 + ((p["batch"] - 64) / 16) ** 2
                 + (math.log2(p["width"]) - 6) ** 2 + 10 * (p["dropout"] - 0.2) ** 2
                 + (p["act"] == "tanh"))


def test_integer_and_stepped_parameters_stay_valid_and_improve() -> None:
    space = _mixed_integer_space()
    trials = _run(CMAESSampler(seed=1), space, _mixed_objective, 150)
    for t in trials:
        space.validate(t.params)
        for name in ("layers", "batch", "width"):
            assert type(t.params[name]) is int
    values = [t.metrics["value"] for t in trials]
    assert min(values[100:]) < min(values[:20])
    assert min(values) < 3.0


def _history_with_everything(space: Space, sampler: Sampler, n: int,
                             memo: Memo | None = None) -> list[TrialRecord]:
    """A sequential run in which every 7th trial fails and every 5th is pruned."""
    trials: list[TrialRecord] = []
    metrics = MetricSet()
    memo = Memo() if memo is None else memo
    for number in range(n):
        params = sampler.suggest(History(space, metrics, tuple(trials), memo=memo), space,
                                 number)
        if number % 7 == 3:
            trials.append(_record(number, params, TrialState.FAILED))
        elif number % 5 == 4:
            trials.append(_record(number, params, TrialState.PRUNED))
        else:
            trials.append(_record(number, params, metrics={"value": _mixed_objective(params)}))
    return trials


def test_incremental_cache_gives_the_suggestions_of_a_fresh_replay() -> None:
    space = _mixed_integer_space()
    sampler, memo = CMAESSampler(seed=4, popsize=6), Memo()
    trials = _history_with_everything(space, sampler, 90, memo)
    metrics = MetricSet()
    for number in range(0, 90, 3):
        history = History(space, metrics, tuple(trials[:number]))
        fresh = CMAESSampler(seed=4, popsize=6).suggest(history, space, number)
        assert fresh == trials[number].params, number
    # the replay really did tell generations (and kept the strategy's own draws), in the memo
    runs = [v for v in memo._data.values() if isinstance(v, _Run)]
    assert runs and max(len(run.consumed) for run in runs) > 60


def test_cache_is_not_reused_for_another_history() -> None:
    space = _mixed_integer_space()
    sampler = CMAESSampler(seed=2, popsize=4)
    trials = _run(sampler, space, _mixed_objective, 40)
    other = [_record(t.number, t.params, metrics={"value": -t.metrics["value"]}) for t in trials]
    swapped = list(trials)  # trials 10 and 11 finished with each other's parameters
    swapped[10] = _record(10, trials[11].params, metrics=trials[11].metrics)
    swapped[11] = _record(11, trials[10].params, metrics=trials[10].metrics)
    dropped = [*trials[:5], *trials[6:]]
    for variant in (other, swapped, dropped, trials[:20]):
        history = History(space, MetricSet(), tuple(variant))
        want = CMAESSampler(seed=2, popsize=4).suggest(history, space, 40)
        assert sampler.suggest(history, space, 40) == want
    history = History(space, MetricSet(), tuple(trials))
    assert sampler.suggest(history, space, 40) != sampler.suggest(
        History(space, MetricSet(), tuple(other)), space, 40)
    # the very same records under other metrics: told differently, so replayed afresh
    maximized = History(space, MetricSet({"value": "maximize"}), tuple(trials))
    want = CMAESSampler(seed=2, popsize=4).suggest(maximized, space, 40)
    assert sampler.suggest(maximized, space, 40) == want
    assert want != sampler.suggest(history, space, 40)


def test_trials_finishing_out_of_order() -> None:
    """A parallel run: lower numbers still running while higher ones complete."""
    space = _floats(3)
    sampler = CMAESSampler(seed=5, popsize=5)
    records: dict[int, TrialRecord] = {}
    rng = np.random.default_rng(0)
    running: list[int] = []
    for number in range(60):
        history = History(space, MetricSet(), tuple(records[k] for k in sorted(records)))
        params = sampler.suggest(history, space, number)
        assert params == CMAESSampler(seed=5, popsize=5).suggest(history, space, number)
        records[number] = _record(number, params, TrialState.RUNNING)
        running.append(number)
        if len(running) >= 4:  # finish a random one of the four running
            done = running.pop(int(rng.integers(len(running))))
            records[done] = _record(done, records[done].params,
                                    metrics={"value": _sphere(records[done].params)})


def test_running_trials_do_not_change_or_block_the_suggestion() -> None:
    space = _floats(3)
    done = _run(CMAESSampler(seed=0), space, _sphere, 20)
    running = [_record(20 + k, {"x0": 0.0, "x1": 0.0, "x2": 0.0}, TrialState.RUNNING)
               for k in range(3)]
    with_running = History(space, MetricSet(), (*done, *running))
    without = History(space, MetricSet(), tuple(done))
    sampler = CMAESSampler(seed=0)
    proposals = [sampler.suggest(with_running, space, n) for n in (23, 24, 25)]
    assert proposals == [CMAESSampler(seed=0).suggest(without, space, n) for n in (23, 24, 25)]
    assert len({tuple(p.values()) for p in proposals}) == 3  # each worker its own point


def test_multi_objective_follows_the_first_objective() -> None:
    space = _floats(3)
    single = _run(CMAESSampler(seed=3), space, _sphere, 30)
    rng = np.random.default_rng(0)
    multi = [_record(t.number, t.params, metrics={"value": t.metrics["value"],
                                                   "other": float(rng.random())})
             for t in single]
    metrics = MetricSet({"value": "minimize", "other": "maximize"})
    got = CMAESSampler(seed=3).suggest(History(space, metrics, tuple(multi)), space, 30)
    want = CMAESSampler(seed=3).suggest(History(space, MetricSet(), tuple(single)), space, 30)
    assert got == want


def test_maximize_is_turned_into_a_loss() -> None:
    space = _floats(2)
    best = max(t.metrics["value"] for t in _run(
        CMAESSampler(seed=0), space, lambda p: -_sphere(p), 80,
        MetricSet({"value": "maximize"})))
    assert best > -0.05


def test_generation_scores() -> None:
    entries = [
        _Entry(0, (), 3.0, 0.0),
        _Entry(1, (), None, 0.0),  # pruned
        _Entry(2, (), 1.0, 2.0),  # infeasible, better loss
        _Entry(3, (), 5.0, 0.0),
        _Entry(4, (), 0.5, 0.5),  # infeasible, less broken
    ]
    scores = _scores(entries)
    order = sorted(range(5), key=lambda i: scores[i])
    assert order == [0, 3, 4, 2, 1]


def _kept_run(history: History) -> _Run:
    """The strategy the sampler replayed for ``history``, kept in its memo."""
    runs = [v for v in history.memo._data.values() if isinstance(v, _Run)]
    assert len(runs) == 1
    return runs[0]


def test_ipop_restarts_double_the_population() -> None:
    space = _floats(2)
    flat = _run(CMAESSampler(seed=0, popsize=4), space, lambda p: 1.0, 200)
    history = History(space, MetricSet(), tuple(flat))
    ipop = CMAESSampler(seed=0, popsize=4)
    ipop.suggest(history, space, 200)
    none_history = History(space, MetricSet(), tuple(flat))
    none = CMAESSampler(seed=0, popsize=4, restarts="none")
    none.suggest(none_history, space, 200)
    ipop_run, none_run = _kept_run(history), _kept_run(none_history)
    assert ipop_run.restarts >= 1 and none_run.restarts == 0
    assert ipop_run.optimizer.population_size == 4 * 2 ** ipop_run.restarts


def test_startup_trials_are_sobol_points_and_seed_the_mean() -> None:
    space = _floats(3)
    trials = _run(CMAESSampler(seed=9, n_startup=6), space, _sphere, 12)
    sobol = SobolSampler(seed=9)
    empty = History(space, MetricSet())
    for t in trials[:6]:
        assert t.params == sobol.suggest(empty, space, t.number)
    best = min(trials[:6], key=lambda t: t.metrics["value"])
    sampler = CMAESSampler(seed=9, n_startup=6)
    history = History(space, MetricSet(), tuple(trials[:6]))
    sampler.suggest(history, space, 6)
    mean = _kept_run(history).optimizer.mean
    assert np.allclose(mean, space.encode(best.params))


def test_conditional_and_categorical_parameters_are_drawn_independently() -> None:
    space = mixed_space()
    trials = _run(CMAESSampler(seed=0), space, lambda p: float(p["layers"]), 12)
    # 'momentum' missing from one complete trial: it leaves the strategy
    params = {k: v for k, v in trials[5].params.items() if k != "momentum"}
    trials[5] = _record(5, params, metrics={"value": 1.0})
    sampler = CMAESSampler(seed=0)
    history = History(space, MetricSet(), tuple(trials))
    proposal = sampler.suggest(history, space, 12)
    space.validate(proposal)
    assert set(proposal) == set(space)
    layout = _kept_run(history).key[2]
    assert "momentum" not in layout.names and "activation" not in layout.names


def test_options_are_described_and_rebuild_the_sampler() -> None:
    sampler = CMAESSampler(seed=3, popsize=8, restarts="none", n_startup=4, sigma0=0.3)
    described = sampler.describe()
    assert described["name"] == "cmaes"
    rebuilt = CMAESSampler(seed=described["seed"], **described["options"])
    assert rebuilt.describe() == described


def test_no_restarts_can_be_written_as_none() -> None:
    assert CMAESSampler(restarts=None).restarts == "none"


@pytest.mark.parametrize("options", [
    {"popsize": 1}, {"popsize": 2.5}, {"restarts": "bipop"}, {"n_startup": -1},
    {"sigma0": 0.0}, {"sigma0": 2.0},
])
def test_bad_options(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="cmaes: "):
        CMAESSampler(**options)


def test_one_dimension() -> None:
    space = Space({"x": {"type": "float", "low": -1.0, "high": 1.0}})
    trials = _run(CMAESSampler(seed=0), space, lambda p: (p["x"] - 0.3) ** 2, 60)
    assert min(t.metrics["value"] for t in trials) < 1e-3


@pytest.mark.filterwarnings("ignore:an in-memory study runs n_jobs > 1 as threads")
def test_study_with_parallel_workers() -> None:
    import dialed

    def objective(trial: dialed.Trial) -> float:
        x = trial.suggest_float("x", -5, 5)
        n = trial.suggest_int("n", -5, 5)
        return (x - 1) ** 2 + (n - 2) ** 2 + (trial.suggest_categorical("c", ["a", "b"]) == "b")

    study = dialed.create_study(sampler=CMAESSampler(), seed=3)
    study.optimize(objective, n_trials=60, n_jobs=3)
    complete = study.get_trials(["complete"])
    assert len(complete) == 60
    assert study.best_value < 1.5
