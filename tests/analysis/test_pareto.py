from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import dialed
from dialed.analysis import hypervolume, hypervolume_estimate, hypervolume_history, pareto_front
from dialed.analysis.pareto import losses, reference_losses
from dialed.errors import ConfigError
from dialed.metrics import MetricSet, non_dominated
from dialed.trial import TrialRecord, TrialState


def _brute_force(points: np.ndarray, ref: np.ndarray) -> float:
    """Inclusion-exclusion over every subset: exact, for a handful of points."""
    inside = [p for p in points if np.all(p < ref)]
    total = 0.0
    for k in range(1, len(inside) + 1):
        for subset in itertools.combinations(inside, k):
            total += (-1) ** (k + 1) * float(np.prod(ref - np.max(subset, axis=0)))
    return total


def _brute_front(points: np.ndarray) -> np.ndarray:
    n = len(points)
    return np.array([
        not any(np.all(points[j] <= points[i]) and np.any(points[j] < points[i])
                for j in range(n))
        for i in range(n)
    ], dtype=bool)


# -- the non-dominated filter ------------------------------------------------------------------
@pytest.mark.parametrize("m", [1, 2, 3, 5])
def test_non_dominated_matches_brute_force(m: int) -> None:
    rng = np.random.default_rng(m)
    for n in (0, 1, 2, 7, 60, 300):
        # integer grids make ties and repeated points common
        pts = rng.integers(0, 5, (n, m)).astype(float)
        assert (non_dominated(pts) == _brute_front(pts)).all()
        pts = rng.random((n, m))
        assert (non_dominated(pts) == _brute_front(pts)).all()


def test_equal_points_both_stay_and_nan_is_worst() -> None:
    pts = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, np.nan], [2.0, 2.0]])
    assert non_dominated(pts).tolist() == [True, True, True, False]
    assert non_dominated(np.array([[0.0, np.nan], [0.0, 5.0]])).tolist() == [False, True]


def test_non_dominated_is_right_on_20000_points() -> None:
    # Beyond what the brute force can check: in two objectives (no ties among random floats)
    # a point is on the front when its second loss is below that of every point with a lower
    # first loss; in three, a vectorised pairwise check on a sample of the points.
    rng = np.random.default_rng(0)
    pts = rng.random((20_000, 2))
    order = np.argsort(pts[:, 0])
    y = pts[order, 1]
    before = np.concatenate([[np.inf], np.minimum.accumulate(y)[:-1]])
    expected = np.zeros(len(pts), dtype=bool)
    expected[order] = y < before
    got = non_dominated(pts)
    assert 5 < got.sum() < 100 and (got == expected).all()
    pts3 = rng.random((20_000, 3))
    got3 = non_dominated(pts3)
    sample = np.concatenate([np.flatnonzero(got3), rng.choice(len(pts3), 300, replace=False)])
    for i in sample:
        dominated = bool(np.any(np.all(pts3 <= pts3[i], axis=1) & np.any(pts3 < pts3[i], axis=1)))
        assert got3[i] == (not dominated)


# -- hypervolume ------------------------------------------------------------------------------
def test_two_objectives_known_area() -> None:
    # a staircase: [1, 3], [2, 2], [3, 1] up to (4, 4) -> 3 + 2 + 1 = 6
    pts = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]])
    assert hypervolume(pts, [4.0, 4.0]) == pytest.approx(6.0)
    # a dominated point, a repeat and a point outside the box change nothing
    more = np.vstack([pts, [[3.0, 3.0], [2.0, 2.0], [5.0, 0.0]]])
    assert hypervolume(more, [4.0, 4.0]) == pytest.approx(6.0)


def test_three_objectives_known_volume() -> None:
    # unit cubes at the corners: each alone dominates 1 up to (2, 2, 2); together 1 + 1 + 1 - 0
    pts = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    # each point's box is 1 x 2 x 2 = 4; pairs overlap in 1 x 1 x 2 = 2; all three in 1
    assert hypervolume(pts, [2.0, 2.0, 2.0]) == pytest.approx(3 * 4 - 3 * 2 + 1)
    assert hypervolume(np.array([[0.5, 0.5, 0.5]]), [1.0, 2.0, 3.0]) == pytest.approx(
        0.5 * 1.5 * 2.5)


@pytest.mark.parametrize("m", [2, 3, 4, 5, 6])
def test_exact_for_any_number_of_objectives(m: int) -> None:
    rng = np.random.default_rng(10 + m)
    for trial in range(25):
        n = int(rng.integers(1, 9))
        grid = trial % 2 == 1
        pts = rng.integers(0, 4, (n, m)).astype(float) if grid else rng.random((n, m))
        ref = np.full(m, 3.5 if grid else 1.05)
        assert hypervolume(pts, ref) == pytest.approx(_brute_force(pts, ref), abs=1e-12)


def test_a_continuous_front_approaches_its_integral() -> None:
    # ZDT1's front f2 = 1 - sqrt(f1) up to (1, 1): the area above it, 2/3
    f1 = np.linspace(0, 1, 4001)
    pts = np.column_stack([f1, 1 - np.sqrt(f1)])
    assert hypervolume(pts, [1.0, 1.0]) == pytest.approx(2 / 3, abs=1e-3)
    # the sphere's octant in 3-d up to (1, 1, 1): 1 - pi / 6
    rng = np.random.default_rng(0)
    v = np.abs(rng.normal(size=(3000, 3)))
    sphere = v / np.linalg.norm(v, axis=1, keepdims=True)
    assert hypervolume(sphere, [1.0, 1.0, 1.0]) == pytest.approx(1 - math.pi / 6, abs=0.02)


@pytest.mark.parametrize("m", [3, 4, 5])
def test_monte_carlo_estimate_agrees_within_its_error(m: int) -> None:
    rng = np.random.default_rng(m)
    v = np.abs(rng.normal(size=(30, m)))
    pts = v / np.linalg.norm(v, axis=1, keepdims=True)
    ref = np.full(m, 1.2)
    exact = hypervolume(pts, ref)
    est = hypervolume_estimate(pts, ref, samples=40_000, seed=1)
    assert est.stderr > 0
    assert abs(est.value - exact) < 4 * est.stderr


def test_exact_volume_of_a_large_two_objective_front() -> None:
    # 20,000 points on a quarter circle: the area they dominate up to (1.1, 1.1) is the sum of
    # the slabs of a sweep in the first loss, each as high as the best second loss so far.
    rng = np.random.default_rng(3)
    v = np.abs(rng.normal(size=(20_000, 2)))
    pts = v / np.linalg.norm(v, axis=1, keepdims=True)
    order = np.argsort(pts[:, 0])
    xs, best_y = pts[order, 0], np.minimum.accumulate(pts[order, 1])
    widths = np.diff(np.append(xs, 1.1))
    area = float(np.sum(widths * (1.1 - best_y)))
    assert hypervolume(pts, np.full(2, 1.1)) == pytest.approx(area)


def test_empty_and_outside_points_have_no_volume() -> None:
    assert hypervolume(np.zeros((0, 2)), [1.0, 1.0]) == 0.0
    assert hypervolume(np.array([[2.0, 0.0]]), [1.0, 1.0]) == 0.0
    assert hypervolume_estimate(np.zeros((0, 3)), [1.0, 1.0, 1.0]).value == 0.0
    with pytest.raises(ValueError, match="shape"):
        hypervolume(np.zeros((3, 2)), [1.0, 1.0, 1.0])


# -- fronts from trial records ----------------------------------------------------------------
_METRICS = MetricSet({"acc": "maximize", "ms": "minimize", "mb": "<= 512", "note": "track"})


def _trial(number: int, acc: float, ms: float, mb: float = 100.0,
           state: TrialState = TrialState.COMPLETE) -> TrialRecord:
    return TrialRecord(trial_id=number + 1, study_id=1, number=number, state=state,
                       seed=number, params={"x": number},
                       metrics={"acc": acc, "ms": ms, "mb": mb, "note": 1.0})


def test_pareto_front_of_feasible_complete_trials() -> None:
    trials = [
        _trial(0, 0.90, 10.0),
        _trial(1, 0.95, 20.0),
        _trial(2, 0.89, 12.0),  # dominated by 0
        _trial(3, 0.99, 5.0, mb=600.0),  # would dominate all, but breaks the memory bound
        _trial(4, 0.97, 30.0),
        _trial(5, 0.99, 1.0, state=TrialState.PRUNED),
    ]
    front = pareto_front(trials, _METRICS)
    assert [t.number for t in front] == [0, 1, 4]
    np.testing.assert_allclose(losses(front, _METRICS), [[-0.90, 10], [-0.95, 20], [-0.97, 30]])


def test_hypervolume_history_grows_with_the_front() -> None:
    trials = [_trial(0, 0.90, 10.0), _trial(1, 0.85, 15.0), _trial(2, 0.95, 5.0),
              _trial(3, 0.99, 1.0, mb=900.0)]
    ref = {"acc": 0.8, "ms": 20.0}
    np.testing.assert_allclose(reference_losses(ref, _METRICS), [-0.8, 20.0])
    hv = hypervolume_history(trials, _METRICS, ref)
    assert hv == pytest.approx([0.1 * 10, 0.1 * 10, 0.15 * 15, 0.15 * 15])
    assert hypervolume_history(trials, _METRICS, [0.8, 20.0], at=[2, 10]) == pytest.approx(
        [1.0, 2.25])
    with pytest.raises(ConfigError, match="no value for ms"):
        reference_losses({"acc": 0.8}, _METRICS)


def test_study_best_trials_is_the_same_front() -> None:
    study = dialed.create_study(metrics={"a": "minimize", "b": "minimize", "c": "<= 0.8"},
                                seed=0)
    rng = np.random.default_rng(0)
    for _ in range(60):
        trial = study.ask()
        x = trial.suggest_float("x", 0, 1)
        study.tell(trial, {"a": x, "b": float(rng.random()), "c": float(rng.random())})
    expected = pareto_front(study.trials, study.metrics)
    assert [t.number for t in study.best_trials] == [t.number for t in expected]
    assert all(t.metrics["c"] <= 0.8 for t in expected)


# -- hypervolume subset selection (the multi-objective TPE's cut of its last front) -------------
def test_subset_selection_is_near_the_best_subset() -> None:
    from dialed.metrics import hypervolume_subset

    rng = np.random.default_rng(5)
    for m in (2, 3):
        v = np.abs(rng.normal(size=(9, m)))
        pts = v / np.linalg.norm(v, axis=1, keepdims=True)
        ref = np.full(m, 1.1)
        for k in (1, 3, 5):
            chosen = hypervolume_subset(pts, k, ref)
            assert len(set(chosen.tolist())) == k
            best = max(hypervolume(pts[list(c)], ref)
                       for c in itertools.combinations(range(len(pts)), k))
            assert hypervolume(pts[chosen], ref) >= (1 - 1 / math.e) * best
            if k == 1:
                assert hypervolume(pts[chosen], ref) == pytest.approx(best)
        assert sorted(hypervolume_subset(pts, 20, ref).tolist()) == list(range(9))


def test_subset_selection_prefers_the_knee_over_crowded_extremes() -> None:
    from dialed.metrics import hypervolume_subset

    # a knee at (0.2, 0.2) and two crowded points at each end of the front
    pts = np.array([[0.0, 1.0], [0.01, 0.99], [0.2, 0.2], [0.99, 0.01], [1.0, 0.0]])
    assert hypervolume_subset(pts, 1).tolist() == [2]
