"""Functional ANOVA importance: exact on hand-built trees, right on functions with known answers."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest

from dialed.analysis import Importance, param_importance
from dialed.analysis.importance import FanovaForest, _Tree
from dialed.errors import ConfigError, NoTrialsError
from dialed.space import Space
from dialed.trial import TrialRecord, TrialState

pytest.importorskip("sklearn")


def _trials(
    space: Space, f: Callable[[Mapping[str, Any]], float], n: int, seed: int = 0
) -> list[TrialRecord]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        params = space.decode(rng.uniform(size=len(space)))
        out.append(TrialRecord(i, 1, i, TrialState.COMPLETE, 0, params=params,
                               metrics={"loss": f(params)}))
    return out


def _box_tree(boxes: list[tuple[tuple[float, float], tuple[float, float], float]]) -> _Tree:
    lo = np.array([[b[0][0], b[1][0]] for b in boxes])
    hi = np.array([[b[0][1], b[1][1]] for b in boxes])
    return _Tree(lo, hi, np.array([b[2] for b in boxes]))


# -- the decomposition of one tree, exactly --------------------------------------------------------
def test_additive_tree_decomposes_exactly() -> None:
    # f = 1[x0 < .5] + 2·1[x1 < .5]: Var = .25 + 4·.25 = 1.25; main effects .25 and 1.0
    boxes = [
        ((0.0, 0.5), (0.0, 0.5), 3.0), ((0.0, 0.5), (0.5, 1.0), 1.0),
        ((0.5, 1.0), (0.0, 0.5), 2.0), ((0.5, 1.0), (0.5, 1.0), 0.0),
    ]
    tree = _box_tree(boxes)
    assert tree.mean == pytest.approx(1.5)
    assert tree.variance == pytest.approx(1.25)
    assert tree.marginal_variance([0]) == pytest.approx(0.25)
    assert tree.marginal_variance([1]) == pytest.approx(1.0)
    assert tree.marginal_variance([0, 1]) == pytest.approx(1.25)  # no interaction


def test_pure_interaction_has_no_main_effects() -> None:
    # XOR: each variable alone explains nothing, together everything
    boxes = [
        ((0.0, 0.5), (0.0, 0.5), 1.0), ((0.0, 0.5), (0.5, 1.0), -1.0),
        ((0.5, 1.0), (0.0, 0.5), -1.0), ((0.5, 1.0), (0.5, 1.0), 1.0),
    ]
    tree = _box_tree(boxes)
    assert tree.marginal_variance([0]) == pytest.approx(0.0)
    assert tree.marginal_variance([1]) == pytest.approx(0.0)
    assert tree.marginal_variance([0, 1]) == pytest.approx(tree.variance) == pytest.approx(1.0)


def test_unequal_boxes_one_dimension() -> None:
    # f = x-dependent steps on [0,.2), [.2,1) with values 5 and 0, one leaf split further on x1
    boxes = [
        ((0.0, 0.2), (0.0, 1.0), 5.0),
        ((0.2, 1.0), (0.0, 0.3), 0.0), ((0.2, 1.0), (0.3, 1.0), 0.0),
    ]
    tree = _box_tree(boxes)
    mean = 0.2 * 5
    assert tree.mean == pytest.approx(mean)
    assert tree.marginal_variance([0]) == pytest.approx(0.2 * 25 - mean**2)
    assert tree.marginal_variance([1]) == pytest.approx(0.0)


# -- forests on functions whose importance is known ------------------------------------------------
def test_linear_function_orders_parameters() -> None:
    # f = 10·x0 + 1·x1 + 0·x2 on [0, 1]³: shares 100/101, 1/101, 0
    space = Space({n: {"type": "float", "low": 0.0, "high": 1.0} for n in ("x0", "x1", "x2")})
    imp = param_importance(_trials(space, lambda p: 10 * p["x0"] + p["x1"], 400), space, "loss")
    assert isinstance(imp, Importance)
    assert imp.params["x0"] > imp.params["x1"] > imp.params["x2"]
    assert imp.params["x0"] > 0.9
    assert imp.params["x1"] > 5 * imp.params["x2"]
    assert imp.params["x2"] < 0.01
    assert [name for name, _ in imp.ranked()] == ["x0", "x1", "x2"]
    assert imp.n_trials == 400
    assert all(0.0 <= v <= 1.0 for v in imp.params.values())


def test_family_importance_includes_interactions_within_the_family() -> None:
    # f = 4·a·b + 0.5·c: a and b (family "optimizer") matter only together
    space = Space({
        "a": {"type": "float", "low": -1.0, "high": 1.0, "family": "optimizer"},
        "b": {"type": "float", "low": -1.0, "high": 1.0, "family": "optimizer"},
        "c": {"type": "float", "low": -1.0, "high": 1.0, "family": "regularization"},
    })
    imp = param_importance(_trials(space, lambda p: 4 * p["a"] * p["b"] + 0.5 * p["c"], 800),
                           space, "loss")
    opt, reg = imp.families["optimizer"], imp.families["regularization"]
    assert opt > 0.6 > 0.2 > reg > 0.0
    # the closed index of a family is at least the sum of its main effects
    assert opt > imp.params["a"] + imp.params["b"] + 0.3
    # a family of one parameter is that parameter's main effect
    assert reg == pytest.approx(imp.params["c"])
    assert [f for f, _ in imp.ranked_families()] == ["optimizer", "regularization"]


def test_family_of_the_important_parameters_wins() -> None:
    space = Space({
        "lr": {"type": "float", "low": 1e-4, "high": 1.0, "log": True, "family": "optimizer"},
        "momentum": {"type": "float", "low": 0.0, "high": 0.99, "family": "optimizer"},
        "layers": {"type": "int", "low": 1, "high": 8, "family": "architecture"},
        "act": {"type": "categorical", "choices": ["relu", "tanh"], "family": "architecture"},
    })

    def f(p: Mapping[str, Any]) -> float:
        return (np.log10(p["lr"]) + 2) ** 2 + 0.5 * p["momentum"] + 0.01 * p["layers"]

    imp = param_importance(_trials(space, f, 500), space, "loss")
    assert imp.families["optimizer"] > 0.8 > 0.1 > imp.families["architecture"]
    assert imp.ranked()[0][0] == "lr"


def test_categorical_parameter_can_dominate() -> None:
    space = Space({
        "opt": {"type": "categorical", "choices": ["sgd", "adam", "rmsprop"]},
        "x": {"type": "float", "low": 0.0, "high": 1.0},
    })
    shift = {"sgd": 0.0, "adam": 5.0, "rmsprop": 2.0}
    imp = param_importance(_trials(space, lambda p: shift[p["opt"]] + 0.1 * p["x"], 300),
                           space, "loss")
    assert imp.params["opt"] > 0.9 > imp.params["x"]


def test_constant_metric_has_no_importance() -> None:
    space = Space({"x": {"type": "float", "low": 0.0, "high": 1.0, "family": "f"}})
    imp = param_importance(_trials(space, lambda p: 1.0, 20), space, "loss")
    assert imp.params == {"x": 0.0}
    assert imp.families == {"f": 0.0}


def test_only_complete_finite_trials_count_and_constants_are_skipped() -> None:
    space = Space({
        "x": {"type": "float", "low": 0.0, "high": 1.0},
        "fixed": {"type": "int", "low": 3, "high": 3},
    })
    trials = _trials(space, lambda p: p["x"], 30)
    extra = [
        TrialRecord(100, 1, 100, TrialState.PRUNED, 0, params={"x": 0.5, "fixed": 3},
                    metrics={"loss": 1e9}),
        TrialRecord(101, 1, 101, TrialState.COMPLETE, 0, params={"x": 0.5, "fixed": 3},
                    metrics={"loss": float("nan")}),
        TrialRecord(102, 1, 102, TrialState.FAILED, 0, params={"x": 0.1, "fixed": 3}),
    ]
    imp = param_importance(trials + extra, space, "loss")
    assert imp.n_trials == 30
    assert list(imp.params) == ["x"]
    assert list(imp.skipped) == ["fixed"]


def test_max_trials_samples_reproducibly() -> None:
    space = Space({"x": {"type": "float", "low": 0.0, "high": 1.0},
                   "y": {"type": "float", "low": 0.0, "high": 1.0}})
    trials = _trials(space, lambda p: p["x"] + 0.2 * p["y"], 300)
    a = param_importance(trials, space, "loss", max_trials=100, seed=3)
    b = param_importance(trials, space, "loss", max_trials=100, seed=3)
    assert a.n_trials == 100
    assert a.to_dict() == b.to_dict()


def test_marginal_follows_the_function() -> None:
    space = Space({"x": {"type": "float", "low": 0.0, "high": 1.0},
                   "y": {"type": "float", "low": 0.0, "high": 1.0}})
    forest = FanovaForest.from_trials(_trials(space, lambda p: 3 * p["x"] - p["y"], 400),
                                      space, "loss")
    line = forest.marginal(["x"], grid=10)
    assert line.shape == (10,)
    assert line[-1] - line[0] > 2.0
    surface = forest.marginal(["x", "y"], grid=8)
    assert surface.shape == (8, 8)
    assert surface[-1, 0] > surface[0, 0] > surface[0, -1]  # up in x, down in y
    with pytest.raises(ConfigError, match="not in the forest"):
        forest.marginal(["z"])


def test_too_few_trials_is_a_clear_error() -> None:
    space = Space({"x": {"type": "float", "low": 0.0, "high": 1.0}})
    with pytest.raises(NoTrialsError, match="at least 4"):
        param_importance(_trials(space, lambda p: p["x"], 3), space, "loss")
    with pytest.raises(NoTrialsError, match="reporting 'acc'"):
        param_importance(_trials(space, lambda p: p["x"], 10), space, "acc")


def test_missing_scikit_learn_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    space = Space({"x": {"type": "float", "low": 0.0, "high": 1.0}})
    monkeypatch.setitem(sys.modules, "sklearn.ensemble", None)
    with pytest.raises(ConfigError, match=r"pip install -e '\.\[sklearn\]'"):
        param_importance(_trials(space, lambda p: p["x"], 10), space, "loss")
