"""Other libraries' APIs on dialed: ``import dialed.compat.optuna as optuna`` runs Optuna code."""

from __future__ import annotations

__all__: list[str] = []
