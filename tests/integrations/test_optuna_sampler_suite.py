"""Optuna's own sampler test suite (``optuna.testing.pytest_samplers``, from the installed
wheel) run against :class:`dialed.integrations.optuna.DialedSampler`, for each dialed sampler.

The classes below inherit every test of Optuna's ``BasicSamplerTestCase``,
``RelativeSamplerTestCase`` and (for the samplers of several objectives)
``MultiObjectiveSamplerTestCase``; the ``sampler`` fixture returns the adapter, as Optuna's
``tests/samplers_tests`` do for its own samplers.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

optuna = pytest.importorskip("optuna")

from optuna.samplers import BaseSampler  # noqa: E402
from optuna.testing.pytest_samplers import (  # noqa: E402
    BasicSamplerTestCase,
    MultiObjectiveSamplerTestCase,
    RelativeSamplerTestCase,
)

from dialed.integrations.optuna import DialedSampler  # noqa: E402

#: Every sampler that proposes from the history and supports several objectives.
SAMPLERS = ["auto", "tpe", "gp", "cmaes", "nsga2", "random", "sobol"]


@pytest.fixture(autouse=True)
def _quiet() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)


class TestDialedSampler(
    BasicSamplerTestCase, RelativeSamplerTestCase, MultiObjectiveSamplerTestCase
):
    @pytest.fixture(params=SAMPLERS)
    def sampler(self, request: pytest.FixtureRequest) -> Callable[[], BaseSampler]:
        name = request.param
        return lambda: DialedSampler(name, seed=7)
