"""Every registered pruner passes the shared suite (dialed.testing.pruners)."""

from __future__ import annotations

import pytest

from dialed.pruners import (
    PRUNERS,
    ASHAPruner,
    AutoPruner,
    HyperbandPruner,
    MedianPruner,
    NopPruner,
    PatiencePruner,
    PBTPruner,
    PercentilePruner,
)
from dialed.testing.pruners import MakePruner, PrunerSuite


class TestNop(PrunerSuite):
    @pytest.fixture
    def make_pruner(self) -> MakePruner:
        return NopPruner


class TestAuto(PrunerSuite):
    @pytest.fixture
    def make_pruner(self) -> MakePruner:
        return AutoPruner


class TestMedian(PrunerSuite):
    @pytest.fixture
    def make_pruner(self) -> MakePruner:
        return lambda: MedianPruner(n_startup_trials=2)


class TestMedianValue(PrunerSuite):
    @pytest.fixture
    def make_pruner(self) -> MakePruner:
        return lambda: MedianPruner(n_startup_trials=0, statistic="value", interval_steps=2)


class TestPercentile(PrunerSuite):
    @pytest.fixture
    def make_pruner(self) -> MakePruner:
        return lambda: PercentilePruner(25.0, n_startup_trials=1, n_warmup_steps=2)


class TestASHA(PrunerSuite):
    @pytest.fixture
    def make_pruner(self) -> MakePruner:
        return ASHAPruner


class TestASHAOwnBudgets(PrunerSuite):
    @pytest.fixture
    def make_pruner(self) -> MakePruner:
        return lambda: ASHAPruner(min_resource=2, reduction_factor=2, sampler_view="all",
                                  min_early_stopping_rate=1)


class TestHyperband(PrunerSuite):
    @pytest.fixture
    def make_pruner(self) -> MakePruner:
        return HyperbandPruner


class TestHyperbandBracketView(PrunerSuite):
    @pytest.fixture
    def make_pruner(self) -> MakePruner:
        return lambda: HyperbandPruner(max_resource=9, sampler_view="bracket")


class TestASHAPaused(PrunerSuite):
    @pytest.fixture
    def make_pruner(self) -> MakePruner:
        return lambda: ASHAPruner(pause=True)


class TestHyperbandPaused(PrunerSuite):
    @pytest.fixture
    def make_pruner(self) -> MakePruner:
        return lambda: HyperbandPruner(pause=True)


class TestPBT(PrunerSuite):
    @pytest.fixture
    def make_pruner(self) -> MakePruner:
        return lambda: PBTPruner(population=4, interval=3)


class TestPatience(PrunerSuite):
    @pytest.fixture
    def make_pruner(self) -> MakePruner:
        return lambda: PatiencePruner(patience=3, min_delta=0.0, upper=10.0)


def test_every_registered_pruner_has_a_suite() -> None:
    covered = {c.name for c in (NopPruner, AutoPruner, MedianPruner, PercentilePruner,
                                ASHAPruner, HyperbandPruner, PatiencePruner, PBTPruner)}
    assert covered == set(PRUNERS)


class TestPatienceThresholdsOnly(PrunerSuite):
    @pytest.fixture
    def make_pruner(self) -> MakePruner:
        return lambda: PatiencePruner(lower=-5.0, upper=50.0)


class TestPatienceMaximize(PrunerSuite):
    @pytest.fixture
    def make_pruner(self) -> MakePruner:
        return lambda: PatiencePruner(patience=2, min_delta=1e-3, direction="minimize",
                                      n_warmup_steps=3)
