"""Studies in and out of other tools: ``import_optuna`` reads Optuna storages (RDB on SQLite or
PostgreSQL, JournalStorage files) into dialed studies; ``export_optuna`` writes the reverse.

Optuna is imported only when one of these is called (``pip install -e '.[optuna]'``).
"""

from __future__ import annotations

from dialed.interop._export import ExportResult, export_optuna
from dialed.interop._import import ImportResult, import_optuna, not_carried_line

__all__ = ["ExportResult", "ImportResult", "export_optuna", "import_optuna", "not_carried_line"]
