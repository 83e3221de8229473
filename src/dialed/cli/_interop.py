"""``dialed import-optuna`` and ``dialed export --format optuna``: studies in and out of Optuna.

Registered on the ``dialed`` app by importing this module (the last lines of ``_app.py``).
"""

from __future__ import annotations

from typing import Annotated

import typer

from dialed.cli._app import StorageOption, _errors, _note, _storage, app
from dialed.errors import ConfigError

__all__ = ["export_to_optuna", "import_optuna_command"]


@app.command("import-optuna")
def import_optuna_command(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Option("--from", help="The Optuna storage: sqlite:///optuna.db, "
                                    "postgresql+psycopg://..., or a JournalStorage file."),
    ],
    study: Annotated[
        str | None, typer.Option("--study", help="The Optuna study to import.")
    ] = None,
    all_studies: Annotated[
        bool, typer.Option("--all", help="Import every study of the Optuna storage.")
    ] = False,
    into: Annotated[
        str | None,
        typer.Option("--into", help="The dialed study to write (default: the Optuna study's "
                                    "name); an existing one gets the Optuna trials added."),
    ] = None,
    storage: StorageOption = None,
) -> None:
    """Import Optuna studies (every trial, its parameters, values, curve and attributes)."""
    url = _storage(ctx, storage)
    with _errors(ctx, url):
        from dialed.interop import import_optuna, not_carried_line

        results = import_optuna(source, study, storage=url, all_studies=all_studies, into=into)
        for result in results:
            typer.echo(result.line())
        _note(not_carried_line(results))


def export_to_optuna(ctx: typer.Context, study: str, url: str, to: str | None) -> None:
    """``dialed export STUDY --format optuna --to LOCATION`` (called by ``export``)."""
    if not to:
        raise ConfigError("--format optuna needs --to: an Optuna storage such as "
                          "sqlite:///optuna.db or a JournalStorage file path")
    from dialed.interop import export_optuna

    typer.echo(export_optuna(study, storage=url, to=to).line())
