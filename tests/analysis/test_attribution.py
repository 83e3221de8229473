"""Attribution: gains in the objective's direction, credited gains telescoping to the total."""

from __future__ import annotations

import numpy as np
import pytest

from dialed.analysis import Gain, StageInput, attribute, gain
from dialed.errors import ConfigError


def test_gain_is_positive_when_better_in_either_direction() -> None:
    worse, better = [1.0, 1.1, 0.9], [0.5, 0.6, 0.4]
    g = gain(worse, better, "minimize")
    assert g.value == pytest.approx(0.5) and g.significant and g.contains(0.5)
    up = gain([0.5, 0.6, 0.4], [1.0, 1.1, 0.9], "maximize")
    assert up.value == pytest.approx(0.5) and up.low > 0
    assert Gain.from_dict(g.to_dict()) == g
    with pytest.raises(ConfigError, match="direction"):
        gain(worse, better, "min")


def test_credited_gains_sum_to_the_total_and_rejected_stages_get_nothing() -> None:
    rng = np.random.default_rng(1)
    base = 1.0 + rng.normal(0, 0.01, 5)
    s1 = 0.6 + rng.normal(0, 0.01, 5)  # adopted: 0.4 better
    s2 = 0.65 + rng.normal(0, 0.01, 5)  # worse than s1: not adopted
    s3 = 0.5 + rng.normal(0, 0.01, 5)  # adopted, compared with s1 (the incumbent)
    att = attribute(base, [
        StageInput("opt", ["optimizer"], base, s1, adopted=True),
        StageInput("reg", ["regularization"], s1, s2, adopted=False),
        StageInput("arch", ["architecture"], s1, s3, adopted=True),
    ], s3, "minimize")
    assert att.stages[1].credited == 0.0 and att.stages[1].gain.value < 0
    assert att.credited == pytest.approx(att.total.value if att.total else 0.0, abs=1e-12)
    assert att.residual == pytest.approx(0.0, abs=1e-12)
    assert att.by_family() == pytest.approx({"optimizer": att.stages[0].credited,
                                             "regularization": 0.0,
                                             "architecture": att.stages[2].credited})
    assert att.attributable and not att.notes


def test_an_unstaged_search_is_not_attributable() -> None:
    base, after = [1.0, 1.02, 0.98], [0.5, 0.52, 0.48]
    att = attribute(base, [StageInput("all", ["all"], base, after, True, attributable=False)],
                    after, "minimize")
    assert not att.attributable and att.notes and att.by_family() == {}
