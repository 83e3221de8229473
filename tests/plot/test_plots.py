"""``dialed.plot``: each figure drawn from a real study on SQLite, the same data as the
dashboard's (one implementation), the parameters and metric chosen by name, the compat layer's
``optuna.visualization``, ``_repr_html_``, and bad input as one clear error."""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go
import pytest

import dialed
import dialed.compat.optuna as optuna
import dialed.plot as dp
from dialed.dashboard import Dashboard, open_read_only
from dialed.errors import ConfigError
from dialed.workflow import summarize

SPACE = {
    "x": {"type": "float", "low": -3.0, "high": 3.0, "family": "shape"},
    "n": {"type": "int", "low": 1, "high": 10, "family": "shape"},
    "lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True, "family": "optimizer"},
    "opt": {"type": "categorical", "choices": ["sgd", "<b>adam</b>"], "family": "optimizer"},
}


def _objective(trial: dialed.Trial) -> float:
    x = trial.suggest_float("x", -3.0, 3.0)
    n = trial.suggest_int("n", 1, 10)
    lr = trial.suggest_float("lr", 1e-4, 1.0, log=True)
    opt = trial.suggest_categorical("opt", ["sgd", "<b>adam</b>"])
    value = (x - 1) ** 2 + 0.05 * n + abs(math.log10(lr) + 2) + (0.5 if opt == "sgd" else 0.0)
    for step in range(4):
        trial.report(value + 1.0 / (step + 1), step)
        if trial.should_prune():
            raise dialed.Pruned()
    return value


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("plot") / "plot.db"
    url = f"sqlite:///{path}"
    study = dialed.create_study("single", storage=url, space=SPACE, pruner="median",
                                metrics={"loss": "minimize"}, seed=3)
    study.optimize(_objective, n_trials=40)
    mo = dialed.create_study("two", storage=url, seed=1,
                             metrics={"a": "minimize", "b": "maximize", "c": "<= 0.8"})
    mo.optimize(lambda t: {"a": t.suggest_float("u", 0, 1), "b": t.suggest_float("v", 0, 1),
                           "c": t.suggest_float("w", 0, 1)}, n_trials=30)
    dialed.create_study("empty", storage=url)
    return url


@pytest.fixture
def study(url: str) -> dialed.Study:
    return dialed.load_study("single", storage=url)


def _trace(figure: Any, name: str) -> Any:
    return next(t for t in figure.data if t.name == name)


def test_every_figure_of_a_study_is_a_plotly_figure_with_data(study: dialed.Study) -> None:
    figures = {
        "history": dp.plot_optimization_history(study),
        "importance": dp.plot_param_importances(study),
        "contour": dp.plot_contour(study),
        "slice": dp.plot_slice(study),
        "parallel": dp.plot_parallel_coordinate(study),
        "intermediate": dp.plot_intermediate_values(study),
        "timeline": dp.plot_timeline(study),
    }
    for name, figure in figures.items():
        assert isinstance(figure, go.Figure), name
        assert figure.data, name
    complete = study.get_trials(["complete"])
    best = _trace(figures["history"], "best so far")
    assert best.y[-1] == pytest.approx(min(t.metrics["loss"] for t in complete))
    assert sorted(_trace(figures["history"], "trial").x) == sorted(t.number for t in complete)
    # importance per parameter and per family (two families in the space)
    assert set(_trace(figures["importance"], "parameter").y) == {"x", "n", "lr", "opt"}
    assert set(_trace(figures["importance"], "family").y) == {"shape", "optimizer"}
    # the contour's default pair is the two most important parameters
    bars = _trace(figures["importance"], "parameter")
    top = [n for _, n in sorted(zip(bars.x, bars.y, strict=True))[-2:]]
    assert {figures["contour"].layout.xaxis.title.text,
            figures["contour"].layout.yaxis.title.text} == set(top)
    assert len(figures["slice"].data) == 4
    dims = [d.label for d in figures["parallel"].data[0].dimensions]
    assert dims == ["x", "n", "lr (log)", "opt", "loss"]
    states = {t.name for t in figures["intermediate"].data}
    assert "pruned" in states and "complete" in states
    assert sum(len(t.x) for t in figures["timeline"].data) == 40


def test_figures_carry_the_dashboards_data(url: str, study: dialed.Study) -> None:
    board = Dashboard(open_read_only(url)).plots("single")["figures"]
    ours = dp.plot_optimization_history(study).to_plotly_json()["data"]
    theirs = board["history"]["data"]
    assert [list(t["x"]) for t in ours] == [list(t["x"]) for t in theirs]
    assert [list(t["y"]) for t in ours] == [list(t["y"]) for t in theirs]
    timeline = dp.plot_timeline(study).to_plotly_json()["data"]
    assert [list(t["y"]) for t in timeline] == [list(t["y"]) for t in board["timeline"]["data"]]


def test_parameters_and_metric_are_chosen_by_name(study: dialed.Study) -> None:
    contour = dp.plot_contour(study, params=["lr", "opt"])
    assert contour.layout.xaxis.title.text == "lr"
    assert contour.layout.yaxis.title.text == "opt"
    assert "lr × opt" in contour.layout.title.text
    assert len(dp.plot_slice(study, params=["x"]).data) == 1
    dims = dp.plot_parallel_coordinate(study, params=["opt", "x"]).data[0].dimensions
    assert [d.label for d in dims] == ["opt", "x", "loss"]  # in the order named


def test_user_text_is_escaped_for_plotly(study: dialed.Study) -> None:
    contour = dp.plot_contour(study, params=["x", "opt"])
    assert "&lt;b&gt;adam&lt;/b&gt;" in contour.layout.yaxis.ticktext
    assert "<b>adam</b>" not in contour.layout.yaxis.ticktext


def test_pareto_front_of_a_study_with_two_objectives_and_a_constraint(url: str) -> None:
    mo = dialed.load_study("two", storage=url)
    figure = dp.plot_pareto_front(mo)
    front = _trace(figure, "Pareto front")
    assert sorted(front.customdata) == sorted(t.number for t in mo.best_trials)
    assert figure.layout.xaxis.title.text == "a (minimize)"
    infeasible = _trace(figure, "infeasible")
    assert all(mo.storage.get_trial_by_number(mo.study_id, n).metrics["c"] > 0.8
               for n in infeasible.customdata)
    history = dp.plot_optimization_history(mo, metric="b")
    assert history.layout.yaxis.title.text == "b"


def test_a_study_with_nothing_to_draw_gives_an_empty_figure_that_says_why(url: str) -> None:
    empty = dialed.load_study("empty", storage=url)
    for plot in (dp.plot_optimization_history, dp.plot_slice, dp.plot_parallel_coordinate,
                 dp.plot_intermediate_values, dp.plot_timeline, dp.plot_param_importances):
        figure = plot(empty)
        assert not figure.data
        assert "in study 'empty'" in figure.layout.title.text


@pytest.mark.parametrize(("call", "message"), [
    (lambda s: dp.plot_contour(s, params=["x"]), r"draws two parameters, got 1: \['x'\]"),
    (lambda s: dp.plot_slice(s, params=["x", "nope"]),
     r"no parameter 'nope'; its parameters: x, n, lr, opt"),
    (lambda s: dp.plot_slice(s, params="x"), r"params is a list of names.*params=\['x'\]"),
    (lambda s: dp.plot_slice(s, metric="acc"), r"no metric 'acc'; its metrics: loss"),
    (lambda s: dp.plot_pareto_front(s), r"needs a study with several objectives.*has one"),
    (lambda s: dp.plot_timeline("single"), r"takes a dialed Study.*got str"),
])
def test_bad_input_is_one_clear_error(study: dialed.Study, call: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        call(study)
    assert "\n" not in str(info.value)


def test_compat_visualization_draws_the_same_figures(url: str) -> None:
    ostudy = optuna.load_study(study_name="single", storage=url)
    figure = optuna.visualization.plot_optimization_history(ostudy)
    native = dp.plot_optimization_history(ostudy.native)
    assert figure.to_plotly_json()["data"] == native.to_plotly_json()["data"]
    assert optuna.visualization.plot_contour(ostudy, params=["x", "n"]).data
    with pytest.raises(ConfigError, match="not a target callable"):
        optuna.visualization.plot_slice(ostudy, target=lambda t: t.values[0])


def test_study_and_summary_render_as_html(url: str, study: dialed.Study) -> None:
    page = study._repr_html_()
    best = study.best_trial
    assert "dialed study &#x27;single&#x27;" in page
    assert f"trial {best.number}: loss = {best.metrics['loss']:.6g}" in page
    counts = {s: len(study.get_trials([s])) for s in ("complete", "pruned")}
    assert f"{counts['complete']} complete" in page and f"{counts['pruned']} pruned" in page
    assert "&#x27;&lt;b&gt;adam&lt;/b&gt;&#x27;" in page or "opt=&#x27;sgd&#x27;" in page
    assert "<b>adam</b>" not in page
    mo = dialed.load_study("two", storage=url)._repr_html_()
    assert "Pareto front" in mo and "c (&lt;= 0.8)" in mo
    text = summarize(study)._repr_html_()
    assert text.startswith('<div class="dialed">') and "<pre" in text
    assert "best so far" in text


def _rung_objective(trial: dialed.Trial) -> float:
    n = trial.scale["n"]
    lr = trial.suggest_float("lr", 1e-4, 1.0, log=True)
    return math.log(lr / (0.5 * n**-0.5)) ** 2 + 4.0 * n**-0.5


def test_plot_scaling_draws_a_ladders_fit_and_refuses_other_studies(study: dialed.Study) -> None:
    from dialed.workflow import record_prediction, run_ladder

    store = dialed.storage.open_storage("memory")
    fit = run_ladder("lad", "n", [16, 32, 64], _rung_objective, trials=10, storage=store,
                     space={"lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True}},
                     sampler="tpe", seed=2, repeats=2, top=2)
    record_prediction("lad", store, fit, fit.predict(512))
    ladder = dialed.load_study("lad", storage=store)
    figure = dp.plot_scaling(ladder)
    assert figure.layout.title.text == "optimum of lr against n"
    names = [t.name for t in figure.data]
    assert "rung optimum" in names and names[-1] == "prediction"
    assert list(_trace(figure, "rung optimum").x) == [16, 32, 64]
    assert figure.data[-1].x == (512,)
    with pytest.raises(ConfigError, match=r"fitted no parameter 'wd'; its fitted parameters: lr"):
        dp.plot_scaling(ladder, "wd")
    with pytest.raises(ConfigError, match="is not a ladder's study"):
        dp.plot_scaling(study)
