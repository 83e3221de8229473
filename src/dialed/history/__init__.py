"""The history: a study's trials as samplers and pruners see them, owned by the engine.

:class:`History` is a read-only snapshot (the trials, and the arrays derived from them once per
trial); :class:`HistoryLog` keeps it up to date from the storage, incrementally; :class:`Memo`
holds the model state samplers derive from it. :func:`config_key`, :func:`is_complete` and
:func:`pareto_front` are the one implementation of a configuration's identity, of a complete
trial and of the Pareto front.
"""

from __future__ import annotations

from dialed.history._history import History, pareto_front
from dialed.history._log import HistoryLog
from dialed.history._memo import Memo
from dialed.history._rows import ConfigKey, Rows, config_key, is_complete

__all__ = [
    "ConfigKey",
    "History",
    "HistoryLog",
    "Memo",
    "Rows",
    "config_key",
    "is_complete",
    "pareto_front",
]
