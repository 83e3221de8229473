"""GrowingRows: rows kept between suggestions equal rows computed afresh, and only new trials
are computed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from dialed.samplers._base import GrowingRows
from dialed.trial import TrialRecord, TrialState


def _trial(number: int, x: float, state: TrialState = TrialState.COMPLETE) -> TrialRecord:
    return TrialRecord(trial_id=number + 1, study_id=1, number=number, seed=number, state=state,
                       params={"x": x})


class _Counting:
    """``compute`` for GrowingRows that records how many trials it was given."""

    def __init__(self) -> None:
        self.seen = 0

    def __call__(self, trials: Sequence[TrialRecord]) -> np.ndarray:
        self.seen += len(trials)
        return np.array([[t.params["x"], t.number] for t in trials], dtype=float).reshape(-1, 2)


def _fresh(trials: Sequence[TrialRecord]) -> np.ndarray:
    return _Counting()(trials)


def test_appended_trials_are_the_only_ones_computed() -> None:
    kept, compute = GrowingRows(), _Counting()
    trials = tuple(_trial(i, i / 10) for i in range(50))
    assert np.array_equal(kept.rows("k", trials, compute), _fresh(trials))
    assert compute.seen == 50
    longer = (*trials, _trial(50, 5.0), _trial(51, 5.1))
    assert np.array_equal(kept.rows("k", longer, compute), _fresh(longer))
    assert compute.seen == 52  # two new rows


def test_rows_stop_being_kept_at_the_first_running_trial() -> None:
    kept, compute = GrowingRows(), _Counting()
    running = _trial(3, 0.3, TrialState.RUNNING)
    trials = (*(_trial(i, i / 10) for i in range(3)), running, _trial(4, 0.4))
    kept.rows("k", trials, compute)
    # the running trial finishes with other parameters: its row must be computed again
    finished = (*trials[:3], _trial(3, 9.9), trials[4], _trial(5, 0.5))
    compute.seen = 0
    assert np.array_equal(kept.rows("k", finished, compute), _fresh(finished))
    assert compute.seen == 3  # trials 3, 4 and 5; rows 0-2 were kept


@pytest.mark.parametrize("change", ["inserted", "removed", "replaced", "other key",
                                    "other trials"])
def test_any_other_sequence_is_computed_afresh(change: str) -> None:
    kept, compute = GrowingRows(), _Counting()
    trials = tuple(_trial(i, float(i)) for i in range(0, 20, 2))
    kept.rows("k", trials, compute)
    key = "k"
    if change == "inserted":  # a trial numbered among the kept ones appears (claimed late)
        after = tuple(sorted((*trials, _trial(5, 55.0)), key=lambda t: t.number))
    elif change == "removed":  # a history that leaves a finished trial out
        after = trials[:3] + trials[4:]
    elif change == "replaced":  # one record in the middle is another object (the end is not)
        after = (*trials[:4], _trial(trials[4].number, -1.0), *trials[5:])
    elif change == "other key":
        after, key = trials, "other"
    else:  # equal values, other records (another study's trials)
        after = tuple(_trial(t.number, 100.0 + t.number) for t in trials)
    compute.seen = 0
    assert np.array_equal(kept.rows(key, after, compute), _fresh(after))
    assert compute.seen == len(after)


def test_the_rows_handed_out_cannot_be_written() -> None:
    rows = GrowingRows().rows("k", (_trial(0, 1.0),), _fresh)
    with pytest.raises(ValueError):
        rows[0, 0] = 2.0
