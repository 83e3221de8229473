"""Derived model state, kept by the engine beside a study's history and shared by its views.

A sampler is a pure function of (seed, history, trial number), but some of what it derives
costs more than a suggestion should pay again: a Gaussian process's fitted hyperparameters, a
CMA-ES strategy replayed over the trials, a Sobol' engine wound to a point. It keeps such state
here, keyed by *everything the state was derived from* (a hash of the data, the records it
consumed), never by the sampler instance; so a lookup can only return what the sampler would
compute afresh, any number of samplers and views can share one memo, and a sampler sent to
another process carries no state of its own.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

__all__ = ["Memo"]


class Memo:
    """A bounded, thread-safe map from keys to derived state; the least recently used goes.

    :meth:`take` removes what it returns: state that the caller continues in place (a replayed
    strategy) is owned by one caller at a time and :meth:`put` back when done; a concurrent
    caller finds nothing and derives its own.
    """

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def take(self, key: Hashable) -> Any | None:
        with self._lock:
            return self._data.pop(key, None)

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)
