from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import qmc

from dialed.samplers._kronecker import golden_ratio, kronecker_points


def test_golden_ratio_is_the_root_of_its_polynomial() -> None:
    assert golden_ratio(1) == pytest.approx((1 + math.sqrt(5)) / 2, rel=1e-15)
    assert golden_ratio(2) == pytest.approx(1.324717957244746, rel=1e-15)  # the plastic number
    for d in (1, 2, 3, 5, 8, 16, 32, 100):
        phi = golden_ratio(d)
        assert 1.0 < phi < 2.0
        assert phi ** (d + 1) == pytest.approx(phi + 1.0, rel=1e-14)
    with pytest.raises(ValueError, match="at least 1"):
        golden_ratio(0)


def test_points_are_the_shifted_additive_recurrence() -> None:
    shift = np.array([0.1, 0.7, 0.95])
    phi = golden_ratio(3)
    alpha = np.array([phi**-1, phi**-2, phi**-3])
    k = np.arange(5, 25)[:, None]
    np.testing.assert_allclose(kronecker_points(5, 20, shift), np.mod(shift + k * alpha, 1.0),
                               atol=1e-12)


def test_a_point_depends_only_on_its_index_and_the_shift() -> None:
    shift = np.random.default_rng(0).random(4)
    whole = kronecker_points(0, 100, shift)
    assert ((whole >= 0.0) & (whole < 1.0)).all()
    for start in (0, 1, 37, 99):
        np.testing.assert_array_equal(kronecker_points(start, 1, shift)[0], whole[start])
    np.testing.assert_array_equal(kronecker_points(40, 30, shift), whole[40:70])
    assert kronecker_points(0, 0, shift).shape == (0, 4)
    assert kronecker_points(0, 3, np.empty(0)).shape == (3, 0)


def test_one_dimension_has_three_gaps_at_most() -> None:
    # Steinhaus' three-gap theorem: n points frac(s + k alpha) cut the circle into arcs of at
    # most three lengths, the mark of a Kronecker sequence's even spread.
    for n in (5, 8, 13, 50, 100):
        x = np.sort(kronecker_points(0, n, np.array([0.3]))[:, 0])
        gaps = np.diff(np.concatenate([x, [x[0] + 1.0]]))
        assert len(np.unique(np.round(gaps, 9))) <= 3


@pytest.mark.parametrize("d", [2, 5, 10])
@pytest.mark.parametrize("n", [8, 64, 1024])
def test_better_spread_than_uniform_draws(d: int, n: int) -> None:
    rd, uniform = [], []
    for seed in range(8):
        rng = np.random.default_rng(seed)
        rd.append(qmc.discrepancy(kronecker_points(0, n, rng.random(d))))
        uniform.append(qmc.discrepancy(rng.random((n, d))))
    assert np.median(rd) < np.median(uniform)
