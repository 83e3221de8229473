"""The dashboard's pure parts: figures, downsampling, the Pareto front, filters, workflow views."""

from __future__ import annotations

import numpy as np
import pytest

from dialed.dashboard import _views as views
from dialed.dashboard import figures as fig
from dialed.errors import ConfigError
from dialed.metrics import MetricSet
from dialed.space import Space
from dialed.trial import TrialRecord, TrialState


def _complete(n: int, values: list[float], params: list[dict[str, object]] | None = None
              ) -> list[TrialRecord]:
    return [
        TrialRecord(i + 1, 1, i, TrialState.COMPLETE, 0,
                    params=(params[i] if params else {"x": 0.5}), metrics={"loss": v},
                    started_at=1000.0 + i, finished_at=1000.5 + i, worker=f"w{i % 3}")
        for i, v in zip(range(n), values, strict=True)
    ]


def test_text_escapes_markup_for_plotly() -> None:
    assert fig.text("<b>x</b> & y") == "&lt;b&gt;x&lt;/b&gt; &amp; y"
    assert fig.text(3) == "3" and fig.text(None) == "null" and fig.text([1, "a"]) == '[1, "a"]'
    assert fig.num(float("nan")) is None and fig.num("x") is None and fig.num(2) == 2.0


def test_history_keeps_every_improvement_and_at_most_about_max_points() -> None:
    rng = np.random.default_rng(0)
    n = 50_000
    values = rng.uniform(size=n).tolist()
    records = _complete(n, values)
    metrics = MetricSet({"loss": "minimize"})
    out = fig.history(fig.Values(records, metrics.primary, metrics))
    assert out is not None
    points = next(t for t in out["data"] if t["name"] == "trial")
    best = next(t for t in out["data"] if t["name"] == "best so far")
    running = np.minimum.accumulate(values)
    improved = [i for i in range(n) if i == 0 or running[i] < running[i - 1]]
    assert best["x"][:-1] == improved and best["x"][-1] == n - 1
    assert best["y"][-1] == pytest.approx(min(values))
    assert set(improved) <= set(points["x"])
    assert len(points["x"]) <= 1.2 * fig.MAX_POINTS
    assert "of 50,000 complete trials shown" in out["note"]
    # the sample is stable: a grown study keeps showing the trials it showed (same share)
    again = fig.history(fig.Values(records[:40_000], metrics.primary, metrics))
    assert again is not None


def test_history_of_a_maximized_metric_tracks_the_maximum() -> None:
    metrics = MetricSet({"acc": "maximize"})
    records = [TrialRecord(i + 1, 1, i, TrialState.COMPLETE, 0, metrics={"acc": v})
               for i, v in enumerate([0.1, 0.5, 0.3, 0.9, 0.2])]
    out = fig.history(fig.Values(records, metrics.primary, metrics))
    assert out is not None
    best = next(t for t in out["data"] if t["name"] == "best so far")
    assert best["x"] == [0, 1, 3, 4] and best["y"] == [0.1, 0.5, 0.9, 0.9]


def test_slices_use_category_axes_for_categoricals_and_log_axes_for_log() -> None:
    space = Space({"lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
                   "act": {"type": "categorical", "choices": ["a", "<b>"]}})
    params = [{"lr": 10 ** -(i % 4), "act": ["a", "<b>"][i % 2]} for i in range(20)]
    records = _complete(20, [float(i) for i in range(20)], params)
    metrics = MetricSet({"loss": "minimize"})
    out = fig.slices(fig.Values(records, metrics.primary, metrics), space)
    assert out is not None
    assert out["layout"]["xaxis"]["type"] == "log"
    assert out["layout"]["xaxis2"]["type"] == "category"
    assert out["layout"]["xaxis2"]["categoryarray"] == ["a", "&lt;b&gt;"]


def test_contour_without_a_surface_bins_the_trials() -> None:
    space = Space({"x": {"type": "float", "low": 0.0, "high": 1.0},
                   "y": {"type": "int", "low": 1, "high": 4}})
    rng = np.random.default_rng(1)
    xs = rng.uniform(size=50).tolist()
    params: list[dict[str, object]] = [{"x": x, "y": int(rng.integers(1, 5))} for x in xs]
    records = _complete(50, xs, params)
    metrics = MetricSet({"loss": "minimize"})
    out = fig.contour(fig.Values(records, metrics.primary, metrics), space, ["x", "y"], None)
    assert out is not None
    z = out["data"][0]["z"]
    assert len(z) == fig.GRID and len(z[0]) == fig.GRID
    assert "mean of the trials" in out["note"]
    assert out["layout"]["yaxis"]["ticktext"] == ["1", "2", "3", "4"]


def test_timeline_groups_by_worker_and_state() -> None:
    records = _complete(9, [1.0] * 9)
    out = fig.timeline(records, now=2000.0)
    assert out is not None
    assert out["layout"]["yaxis"]["categoryarray"] == ["w0", "w1", "w2"]
    assert out["layout"]["xaxis"]["type"] == "date"
    bars = out["data"][0]
    assert bars["base"][0] == "1970-01-01 00:16:40.000" and bars["x"][0] == 500.0


def test_filters_parse_and_name_what_is_wrong() -> None:
    metrics = MetricSet({"loss": "minimize"})
    space = Space({"lr": {"type": "float", "low": 0.0, "high": 1.0},
                   "opt": {"type": "categorical", "choices": ["adam", "sgd"]}})
    cols = views.columns(metrics, space, [])
    f = views.parse_filter("lr < 0.5, opt = adam and loss>=1", cols)
    assert [(x.column.key, x.op, x.value) for x in f] == [
        ("p:lr", "<", "0.5"), ("p:opt", "=", "adam"), ("m:loss", ">=", "1")]
    t = TrialRecord(1, 1, 0, TrialState.COMPLETE, 0, params={"lr": 0.1, "opt": "adam"},
                    metrics={"loss": 2.0})
    assert all(x.test(t, 0.0) for x in f)
    assert not views.parse_filter("opt != adam", cols)[0].test(t, 0.0)
    assert views.parse_filter("opt ~ AD", cols)[0].test(t, 0.0)
    assert views.parse_filter("number = 0", cols)[0].test(t, 0.0)
    with pytest.raises(ConfigError, match="no column named 'nope'"):
        views.parse_filter("nope < 1", cols)
    with pytest.raises(ConfigError, match="cannot read the filter 'lr'"):
        views.parse_filter("lr", cols)
    assert views.parse_filter("  ", cols) == []


def test_study_state_and_describe() -> None:
    assert views.study_state({"running": 1, "complete": 3}) == "running"
    assert views.study_state({"waiting": 2}) == "queued"
    assert views.study_state({"complete": 2}) == "idle"
    assert views.study_state({}) == "empty"
    space = Space({"lr": {"type": "float", "low": 1e-4, "high": 0.1, "log": True},
                   "n": {"type": "int", "low": 2, "high": 8, "step": 2},
                   "c": {"type": "categorical", "choices": ["a", 1, None]}})
    assert [views.describe(d) for d in space.values()] == [
        "float [0.0001, 0.1] log", "int [2, 8] step 2", "one of: a, 1, null"]


def test_workflow_records_are_shown_in_the_order_of_the_procedure() -> None:
    attrs = {
        "workflow:verify:1": {"gap": 0.01},
        "workflow:stage:10": {"name": "late"},
        "workflow:stage:2": {"name": "optimizer", "gain": {"mean": 0.1, "low": 0.05}},
        "workflow:baseline": {"params": {"lr": 0.01}, "values": {"loss": [0.5, 0.6]}},
        "workflow:something-new": [1, 2, 3],
        "workflow:queued:stage:1:abc:0": {"n": 1},  # bookkeeping: not shown
        "tradeoff": {"rule": "best acc", "trial": 4},
        "sampler": {"name": "tpe"},
    }
    sections = views.workflow_sections(attrs)
    assert [s["key"] for s in sections] == [
        "workflow:baseline", "workflow:stage:2", "workflow:stage:10", "workflow:verify:1",
        "workflow:something-new", "tradeoff"]
    assert sections[0]["title"] == "baseline"
    assert {"key": "values.loss", "value": "[0.5, 0.6]"} in sections[0]["rows"]
    assert {"key": "gain.low", "value": "0.05"} in sections[1]["rows"]
    assert sections[1]["title"] == "stage 2"


def test_public_names_resolve() -> None:
    import dialed.dashboard
    import dialed.report

    for module in (dialed.dashboard, dialed.report):
        for name in module.__all__:
            assert getattr(module, name) is not None, (module.__name__, name)
