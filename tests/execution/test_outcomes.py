"""Every outcome of an objective ends its trial before anything propagates: nothing is left
running, whatever the objective returns or raises, on every storage."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import dialed
from dialed import TrialState
from dialed.errors import ConfigError

POSTGRES_URL = os.environ.get("DIALED_TEST_POSTGRES_URL")


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    if request.param == "memory":
        yield None
    elif request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'outcomes.db'}"
    else:
        if POSTGRES_URL is None:
            pytest.skip("DIALED_TEST_POSTGRES_URL is not set (.ci/run sets it)")
        yield POSTGRES_URL
        for summary in dialed.list_studies(POSTGRES_URL):
            if summary.name.startswith("outcome-"):
                dialed.delete_study(summary.name, storage=POSTGRES_URL)


def _study(storage: str | None, name: str) -> dialed.Study:
    return dialed.create_study(f"outcome-{name}", storage=storage, seed=0,
                               metrics={"value": "minimize"})


def _run(study: dialed.Study, objective: Callable[[dialed.Trial], Any], **kw: Any) -> None:
    study.optimize(objective, n_trials=1, **kw)


def _only(study: dialed.Study) -> dialed.TrialRecord:
    [trial] = study.trials
    assert trial.state == TrialState.FAILED, trial
    return trial


class BrokenMessage(Exception):
    def __str__(self) -> str:
        raise RuntimeError("the message itself fails")


def test_an_int_too_large_for_a_float_fails_the_trial(storage: str | None) -> None:
    study = _study(storage, "overflow")
    _run(study, lambda t: 10 ** 400)  # no catch: an invalid result never propagates
    error = _only(study).error or ""
    assert error.startswith("invalid result: metric 'value' is an integer too large")
    study.optimize(lambda t: 1.0, n_trials=1)  # the study goes on
    assert study.trials[-1].state == TrialState.COMPLETE


def test_a_metric_name_no_storage_can_hold_fails_the_trial(storage: str | None) -> None:
    study = _study(storage, "badname")
    _run(study, lambda t: {"value": 1.0, "lat\x00ency": 2.0})
    _run(study, lambda t: {"value": 1.0, "lat\ud800": 2.0})
    first, second = study.trials
    assert first.state == second.state == TrialState.FAILED
    assert "unprintable character U+0000" in (first.error or "")
    assert "unprintable character U+D800" in (second.error or "")
    assert [s.name for s in dialed.list_studies(study.storage)].count(study.name) == 1


def test_error_text_with_nul_and_a_lone_surrogate_is_stored(storage: str | None) -> None:
    study = _study(storage, "text")

    def objective(trial: dialed.Trial) -> float:
        raise ValueError("bad\x00byte and \ud800 half a pair")

    _run(study, objective, catch=(ValueError,))
    error = _only(study).error or ""
    assert error.startswith("ValueError: bad\\x00byte and \\ud800 half a pair")


def test_an_exception_whose_message_raises_fails_the_trial(storage: str | None) -> None:
    study = _study(storage, "broken")

    def objective(trial: dialed.Trial) -> float:
        trial.suggest_float("x", 0, 1)
        raise BrokenMessage

    with pytest.raises(BrokenMessage):
        _run(study, objective)
    error = _only(study).error or ""
    assert error.splitlines()[0] == \
        "BrokenMessage: <its message could not be read: RuntimeError>"
    _run(study, objective, catch=(BrokenMessage,))  # caught: the study goes on
    assert [t.state for t in study.trials] == [TrialState.FAILED] * 2


def test_system_exit_fails_the_trial_then_propagates(storage: str | None) -> None:
    study = _study(storage, "exit")

    def objective(trial: dialed.Trial) -> float:
        trial.suggest_float("x", 0, 1)
        raise SystemExit(3)

    with pytest.raises(SystemExit):
        _run(study, objective, catch=(Exception,))
    assert _only(study).error.startswith("SystemExit: 3")  # type: ignore[union-attr]


def test_a_returned_object_whose_float_raises_fails_the_trial(storage: str | None) -> None:
    class Weird:
        def __float__(self) -> float:
            raise ZeroDivisionError("no float here")

    study = _study(storage, "weird")
    _run(study, lambda t: {"value": Weird()})
    assert _only(study).error.startswith("invalid result:")  # type: ignore[union-attr]


def test_names_with_control_characters_are_refused_at_input(storage: str | None) -> None:
    with pytest.raises(ConfigError, match="metric name 'a\\\\x00b' holds the unprintable"):
        dialed.create_study("outcome-refused", storage=storage, metrics={"a\x00b": "minimize"})
    study = _study(storage, "refused")
    with pytest.raises(ConfigError, match="unprintable character U\\+000A"):
        study.set_user_attr("two\nlines", 1)
    with pytest.raises(dialed.errors.SpaceError, match="parameter name"):
        study.optimize(lambda t: t.suggest_float("x\x00", 0, 1), n_trials=1)
    assert [t.state for t in study.trials] == [TrialState.FAILED]
    assert study.space == dialed.Space()
    names = [s.name for s in dialed.list_studies(study.storage)]
    assert "outcome-refused" in names and "outcome-refused" in names
