"""Intervals and Welch's test against scipy and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from dialed.analysis import Comparison, Interval, mean_interval, welch
from dialed.errors import ConfigError


def test_mean_interval_is_the_student_t_interval() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    iv = mean_interval(values)
    half = stats.t.ppf(0.975, 3) * np.std(values, ddof=1) / 2.0
    assert iv.mean == 2.5 and iv.n == 4
    assert iv.std == pytest.approx(np.std(values, ddof=1))
    assert (iv.low, iv.high) == pytest.approx((2.5 - half, 2.5 + half))
    assert iv.contains(2.5) and not iv.contains(5.0)
    wider = mean_interval(values, confidence=0.99)
    assert wider.low < iv.low and wider.high > iv.high


def test_interval_coverage_is_about_95_percent() -> None:
    rng = np.random.default_rng(0)
    hits = sum(mean_interval(rng.normal(3.0, 2.0, size=5)).contains(3.0) for _ in range(2000))
    assert 0.93 < hits / 2000 < 0.97


def test_one_value_has_an_unbounded_interval_and_survives_json() -> None:
    iv = mean_interval([0.3])
    assert math.isnan(iv.std) and iv.low == -math.inf and iv.high == math.inf
    back = Interval.from_dict(iv.to_dict())
    assert back.low == -math.inf and back.high == math.inf and back.mean == 0.3


def test_welch_matches_scipy() -> None:
    a, b = [1.0, 1.2, 0.9, 1.1, 1.05], [0.7, 0.75, 0.9, 0.6]
    c = welch(a, b)
    ref = stats.ttest_ind(a, b, equal_var=False)
    assert c.t == pytest.approx(ref.statistic) and c.p_value == pytest.approx(ref.pvalue)
    assert c.diff == pytest.approx(np.mean(a) - np.mean(b))
    ci = ref.confidence_interval(0.95)
    assert (c.low, c.high) == pytest.approx((ci.low, ci.high))
    assert c.dof == pytest.approx(ref.df)
    assert c.significant
    assert Comparison.from_dict(c.to_dict()) == c


def test_welch_without_spread_is_exact() -> None:
    same = welch([1.0, 1.0], [1.0, 1.0])
    assert same.p_value == 1.0 and same.low == same.high == 0.0 and not same.significant
    apart = welch([2.0, 2.0], [1.0, 1.0])
    assert apart.p_value == 0.0 and apart.diff == 1.0 and apart.significant


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: mean_interval([]), "at least one value"),
        (lambda: mean_interval([1.0, float("nan")]), "finite"),
        (lambda: mean_interval([1.0, 2.0], confidence=1.5), "confidence"),
        (lambda: welch([1.0], [1.0, 2.0]), "at least 2 values"),
    ],
)
def test_bad_input_is_a_config_error(call: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        call()  # type: ignore[operator]
