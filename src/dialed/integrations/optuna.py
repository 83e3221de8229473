"""dialed inside Optuna: dialed's samplers as an Optuna sampler, dialed's storage as Optuna's.

::

    import optuna
    from dialed.integrations.optuna import DialedSampler, DialedStorage

    study = optuna.create_study(sampler=DialedSampler("auto", seed=0),
                                storage=DialedStorage("sqlite:///optuna.db"))

:class:`DialedSampler` runs any dialed sampler on an Optuna study's trials;
:class:`DialedStorage` keeps Optuna studies in dialed's SQLite (WAL) or PostgreSQL storage,
where ``dialed studies``, ``dialed best`` and the dashboard read them too. Both pass Optuna's
own test suites (``tests/integrations/``). Needs the ``optuna`` extra.
"""

from __future__ import annotations

try:
    import optuna  # noqa: F401 - the extra this module needs, checked first
except ImportError as exc:  # pragma: no cover - the extra is installed in development
    from dialed._util import install_hint

    raise ImportError(
        f"dialed.integrations.optuna needs Optuna: {install_hint('optuna')}"
    ) from exc

from dialed.integrations._optuna_sampler import DialedSampler
from dialed.integrations._optuna_storage import DialedStorage

__all__ = ["DialedSampler", "DialedStorage"]
