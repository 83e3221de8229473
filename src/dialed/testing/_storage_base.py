"""The conformance suite's shared parts: the values it stores and the helpers every part uses
(see :mod:`dialed.testing.storage`)."""

from __future__ import annotations

import math
import struct

from dialed.storage import Storage, StudyRecord
from dialed.trial import TrialRecord, TrialState

__all__ = ["COMPLETE", "FAILED", "PRUNED", "RUNNING", "TRICKY_FLOATS", "WAITING", "_SuiteBase",
           "_same_floats"]

COMPLETE, PRUNED, FAILED = TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED
RUNNING, WAITING = TrialState.RUNNING, TrialState.WAITING

#: Floats that a careless storage rounds: they must all come back bit for bit.
TRICKY_FLOATS = [
    0.1, 0.1 + 0.2, 1 / 3, -2 / 3, math.pi, 1e-300, 5e-324, 2.2250738585072014e-308,
    1.7976931348623157e308, -1.7976931348623157e308, 123456789.12345679, 1e22, 2.0**53 + 2,
    math.nextafter(1.0, 2.0), math.nextafter(1.0, 0.0), 0.0, 1.0,
]


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


def _same_floats(a: list[float], b: list[float]) -> bool:
    return [_bits(x) for x in a] == [_bits(float(y)) for y in b]



class _SuiteBase:
    """The helpers of every part of :class:`~dialed.testing.storage.StorageSuite`."""

    @staticmethod
    def study(
        storage: Storage,
        name: str = "study",
        *,
        metrics: dict[str, str] | None = None,
        seed: int = 7,
    ) -> StudyRecord:
        return storage.create_study(
            name, metrics=metrics if metrics is not None else {"loss": "minimize"}, seed=seed
        )

    @staticmethod
    def finished(storage: Storage, study_id: int, state: TrialState = COMPLETE,
                 **metrics: float) -> TrialRecord:
        rec = storage.create_trial(study_id, worker="w")
        return storage.finish_trial(rec.trial_id, state, metrics=metrics)
