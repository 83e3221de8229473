"""A ladder of studies on a synthetic family whose optimum moves as a known power of N: the
fitted exponent's interval holds the true one, each rung is warm-started from the law below
it, the prediction lands near the true optimum, and bad ladders are one clear error."""

from __future__ import annotations

import math

import numpy as np
import pytest

import dialed
from dialed.errors import ConfigError
from dialed.workflow import enqueue_prediction, fit_ladder, ladder_studies, run_ladder

TRUE_B = -0.5  # lr*(N) = 0.5 · N^-0.5
SPACE = {"lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
         "wd": {"type": "float", "low": 1e-5, "high": 1e-1, "log": True},
         "act": {"type": "categorical", "choices": ["relu", "tanh"]}}


def objective(trial: dialed.Trial) -> float:
    n = trial.scale["n"]
    p = trial.params
    noise = 0.02 * float(np.random.default_rng(trial.seed).standard_normal())
    return (math.log(p["lr"] / (0.5 * n**TRUE_B)) ** 2 + 0.3 * math.log(p["wd"] / 1e-3) ** 2
            + (0.0 if p["act"] == "relu" else 0.5) + 1.0 + 4.0 * n**-0.5 + noise)


@pytest.fixture(scope="module")
def ladder() -> tuple[str, dialed.workflow.LadderFit]:
    store = dialed.storage.open_storage("memory")
    fit = run_ladder("syn", "n", [16, 32, 64, 128], objective, trials=24, space=SPACE,
                     storage=store, sampler="tpe", seed=3, repeats=3, top=2)
    return store, fit  # type: ignore[return-value]


def test_true_exponent_inside_the_fitted_interval(ladder: tuple) -> None:
    _, fit = ladder
    law = fit.laws["lr"]
    assert law.b_interval[0] <= TRUE_B <= law.b_interval[1], law.to_dict()
    assert law.b_interval[1] < 0  # the optimum is seen to fall with scale
    assert law.rungs == ("syn.n16", "syn.n32", "syn.n64", "syn.n128")
    assert fit.categorical["act"].choice == "relu"
    pred = fit.predict(2048)
    truth = 0.5 * 2048**TRUE_B
    assert pred.intervals["lr"][0] <= truth <= pred.intervals["lr"][1]
    assert abs(math.log(pred.params["lr"] / truth)) < math.log(3)
    assert pred.value is not None  # four rungs: a loss law
    assert "b in [" in fit.describe()


def test_rungs_are_confirmed_and_warm_started(ladder: tuple) -> None:
    store, fit = ladder
    studies, scale, _ = ladder_studies("syn", store)
    assert scale == "n" and [s.scale["n"] for s in studies] == [16, 32, 64, 128]
    assert all(r.source.startswith("confirm") for r in fit.rungs)
    first = studies[2].trials[0]  # the third rung starts from the law fitted to two
    moved = fit_ladder(studies[:2], scale="n", seed=3, n_boot=400).predict(64).params
    assert first.params["lr"] == pytest.approx(moved["lr"], rel=1e-6)
    rec = dialed.load_study("syn", storage=store)
    assert rec.attrs["ladder:fit"]["laws"]["lr"]["rungs"][-1] == "syn.n128"


def test_prediction_enqueued_as_baseline(ladder: tuple) -> None:
    store, fit = ladder
    pred = fit.predict(1024)
    target = enqueue_prediction("syn", pred, "syn.target", store)
    assert target.scale == {"n": 1024}
    waiting = target.get_trials(["waiting"])
    assert waiting[0].params["lr"] == pytest.approx(pred.params["lr"])
    # the prediction, each of its two numeric parameters at its inner interval's ends, then
    # the four corners of the (95%) intervals
    assert len(waiting) == 1 + 4 + 4
    for trial in waiting[1:5]:
        moved = [k for k in pred.inner if trial.params[k] != pytest.approx(pred.params[k])]
        assert len(moved) == 1
        lo, hi = pred.inner[moved[0]]
        assert trial.params[moved[0]] in (pytest.approx(lo), pytest.approx(hi))
    for name, (lo, hi) in pred.inner.items():
        assert pred.intervals[name][0] <= lo <= pred.params[name] <= hi <= pred.intervals[name][1]
    assert dialed.Workflow(target).plan.baseline["lr"] == pytest.approx(pred.params["lr"])
    enqueue_prediction("syn", pred, "syn.target", store)  # again: nothing enqueued twice
    assert len(target.get_trials(["waiting"])) == 9
    assert target.attrs["ladder:prediction"]["inner"].keys() == pred.inner.keys()
    with pytest.raises(ConfigError, match=r"study 'syn.n16' is at n=16, not the predicted"):
        enqueue_prediction("syn", pred, "syn.n16", store)


def _rung(name: str, scale: dict | None, space: dict, value: float = 0.1) -> dialed.Study:
    declared = dialed.Space.from_dict(space)
    study = dialed.create_study(name, scale=scale, space=declared, seed=0)

    def run(trial: dialed.Trial) -> float:
        trial.suggest_space(declared)
        return value + trial.params["lr"]

    study.optimize(run, n_trials=6)
    return study


LR = {"lr": {"type": "float", "low": 1e-3, "high": 1.0, "log": True}}


def test_bad_ladders_name_the_study_and_the_problem() -> None:
    a = _rung("a", {"n": 16}, LR)
    with pytest.raises(ConfigError, match=r"at least two rungs.*got 1: 'a'"):
        fit_ladder([a])
    with pytest.raises(ConfigError, match="study 'b' records no scale"):
        fit_ladder([a, _rung("b", None, LR)])
    other = {"lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True}}
    with pytest.raises(ConfigError, match="study 'c': its space differs from study 'a'"):
        fit_ladder([a, _rung("c", {"n": 32}, other)])
    extra = {**LR, "wd": {"type": "float", "low": 0.0, "high": 1.0}}
    with pytest.raises(ConfigError, match=r"study 'd': its space differs.*wd in one only"):
        fit_ladder([a, _rung("d", {"n": 32}, extra)])
    fixed = {"lr": {"type": "float", "low": 0.1, "high": 0.1}}
    with pytest.raises(ConfigError, match="study 'e': parameter 'lr' is fixed there but "
                                          "searched in study 'a'"):
        fit_ladder([a, _rung("e", {"n": 32}, fixed)])
    with pytest.raises(ConfigError, match="study 'f' is at n=16 like study 'a'"):
        fit_ladder([a, _rung("f", {"n": 16}, LR)])
    with pytest.raises(ConfigError, match=r"study 'g' has scale .*without 'n'"):
        fit_ladder([a, _rung("g", {"rows": 16}, LR)], scale="n")
    with pytest.raises(ConfigError, match="ladder 'x': needs at least two rungs"):
        run_ladder("x", "n", [16], objective, trials=2)
    with pytest.raises(ConfigError, match="scale n must be a number > 0"):
        dialed.create_study("h", scale={"n": -1})


def test_the_ladder_study_draws_each_optimum_against_scale(ladder: tuple) -> None:
    from dialed.dashboard import Dashboard, open_read_only

    store, fit = ladder
    enqueue_prediction("syn", fit.predict(1024), "syn.drawn", store)
    dialed.workflow.record_prediction("syn", store, fit, fit.predict(1024))
    plots = Dashboard(open_read_only(store), min_interval=0.0).plots("syn")
    assert plots["order"] == ["scaling:lr", "scaling:wd"] and not plots["empty"]
    figure = plots["figures"]["scaling:lr"]
    names = [d["name"] for d in figure["data"]]
    assert names[0] == "band" and "rung optimum" in names and names[-1] == "prediction"
    assert figure["layout"]["xaxis"]["type"] == figure["layout"]["yaxis"]["type"] == "log"
    star = figure["data"][-1]
    assert star["x"] == [1024] and star["y"][0] == pytest.approx(fit.predict(1024).params["lr"])
    assert "syn.n128" in figure["note"]
