"""The scaling-law fits on numbers of known law: the power law of an optimum, the saturating
loss law, a rung's optimum spread and the categorical winner."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dialed.analysis.categorical_law import categorical_winner
from dialed.analysis.loss_law import fit_loss_law
from dialed.analysis.rung_optimum import optimum_spread
from dialed.analysis.scaling_law import fit_power_law
from dialed.errors import ConfigError

SCALES = np.array([16.0, 32.0, 64.0, 128.0, 256.0])


def test_power_law_interval_covers_the_true_exponent_in_most_draws() -> None:
    rng = np.random.default_rng(1)
    sigma, covered, trials = 0.15, 0, 40
    for k in range(trials):
        optima = 0.5 * SCALES**-0.5 * np.exp(rng.normal(0.0, sigma, SCALES.size))
        law = fit_power_law("lr", SCALES, optima, [sigma] * SCALES.size, seed=k, n_boot=800)
        covered += law.b_interval[0] <= -0.5 <= law.b_interval[1]
    assert covered >= 0.85 * trials  # a 95% interval; 40 draws


def test_power_law_prediction_and_its_interval() -> None:
    optima = 0.5 * SCALES**-0.5
    law = fit_power_law("lr", SCALES, optima, [0.05] * SCALES.size, seed=0)
    assert law.b == pytest.approx(-0.5, abs=1e-9) and law.a == pytest.approx(0.5, rel=1e-9)
    value, low, high = law.predict(4096)
    assert value == pytest.approx(0.5 / 64, rel=1e-9) and low < value < high
    assert law.trusted and all(abs(z) < 1e-6 for z in law.loo if z is not None)
    _, in_low, in_high = law.predict(4096, confidence=0.5)  # the bootstrap's quartiles
    assert low < in_low < value < in_high < high
    with pytest.raises(ConfigError, match="between 0 and 1"):
        law.predict(4096, confidence=1.5)


def test_linear_scale_parameter_is_a_line_in_log_n() -> None:
    optima = 0.2 + 0.1 * np.log(SCALES)
    law = fit_power_law("dropout", SCALES, optima, [0.01] * 5, log=False, seed=0)
    assert law.b == pytest.approx(0.1) and law.predict(1024)[0] == pytest.approx(
        0.2 + 0.1 * math.log(1024))


def test_warnings_few_rungs_poor_loo_and_edges() -> None:
    two = fit_power_law("lr", [16, 32], [0.1, 0.05], [0.1, 0.1], seed=0)
    assert any("only 2 rungs" in w for w in two.warnings) and not two.trusted
    bent = np.array([0.1, 0.05, 0.025, 0.0125, 0.4])  # the last rung breaks the law
    poor = fit_power_law("lr", SCALES, bent, [0.02] * 5, seed=0)
    assert any("poor leave-one-out" in w and "N=256" in w for w in poor.warnings)
    edge = fit_power_law("lr", SCALES, 0.5 * SCALES**-0.5, [0.05] * 5, seed=0,
                         at_edge=[False, False, False, False, True])
    assert any("edge" in w and "N=256" in w for w in edge.warnings)


def test_bad_input_is_one_clear_error() -> None:
    with pytest.raises(ConfigError, match="at least two rungs"):
        fit_power_law("lr", [16], [0.1], [0.1])
    with pytest.raises(ConfigError, match="two different scales"):
        fit_power_law("lr", [16, 16], [0.1, 0.2], [0.1, 0.1])
    with pytest.raises(ConfigError, match="optima > 0"):
        fit_power_law("lr", [16, 32], [0.1, -0.2], [0.1, 0.1])


def test_loss_law_recovers_a_saturating_curve() -> None:
    rng = np.random.default_rng(0)
    losses = 1.0 + 3.0 * SCALES**-0.7 + rng.normal(0, 0.002, SCALES.size)
    law = fit_loss_law(SCALES, losses, [0.002] * 5, seed=0)
    assert law.fitted and law.alpha == pytest.approx(0.7, abs=0.2)
    value, low, high = law.predict(2048)  # type: ignore[misc]
    truth = 1.0 + 3.0 * 2048**-0.7
    assert low <= truth <= high and abs(value - truth) < 0.05
    short = fit_loss_law([16, 32], [1.2, 1.1], [0.01, 0.01])
    assert not short.fitted and short.predict(64) is None and "three" in short.warnings[0]


def test_optimum_spread_from_curvature_narrows_with_sharper_losses() -> None:
    x = np.linspace(-3, 3, 40)
    wide = optimum_spread(x, 0.1 * x**2, 0.0, 0.01, -3.0, 3.0)
    sharp = optimum_spread(x, 10.0 * x**2, 0.0, 0.01, -3.0, 3.0)
    assert wide.method == sharp.method == "curvature"
    assert sharp.sigma < wide.sigma and wide.sigma == pytest.approx(math.sqrt(0.1), rel=0.05)
    assert optimum_spread(x, x**2, 2.9, 0.01, -3.0, 3.0).at_edge


def test_categorical_winner_stable_or_not() -> None:
    stable = categorical_winner("act", [16, 32, 64], ["relu"] * 3)
    assert stable.stable and stable.choice == "relu" and stable.trusted
    moving = categorical_winner("act", [64, 16, 32], ["gelu", "relu", "relu"])
    assert not moving.stable and moving.choice == "gelu" and moving.winners[-1] == "gelu"
