"""The study: a thin handle on one study in a storage (ask, tell, optimize, best, trials).

- :mod:`._study`: :class:`Study`, the handle; everything it knows is read from its storage,
  so any number of handles in any number of processes see the same study;
- :mod:`._open`: :func:`create_study` (every argument checked before anything is stored),
  :func:`load_study`, :func:`delete_study`, :func:`list_studies`;
- :mod:`._export`: the trials as flat rows, CSV or JSON.

The loop and the executors live in :mod:`dialed.execution`.
"""

from dialed.study._open import (
    DEFAULT_PRUNER,
    DEFAULT_SAMPLER,
    check_scale,
    create_study,
    delete_study,
    list_studies,
    load_study,
)
from dialed.study._study import Study

__all__ = [
    "DEFAULT_PRUNER",
    "DEFAULT_SAMPLER",
    "Study",
    "check_scale",
    "create_study",
    "delete_study",
    "list_studies",
    "load_study",
]
