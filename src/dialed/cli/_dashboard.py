"""``dialed dashboard`` (the live web view) and ``dialed report`` (one self-contained HTML file).

Registered on the ``dialed`` app by importing this module (the last lines of ``_app.py``).
Both read the storage only; the dashboard's server (Starlette, uvicorn, Jinja2) is the
``dashboard`` extra and is imported when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dialed._util import install_hint
from dialed.cli._app import (
    StorageOption,
    StudyArg,
    _errors,
    _missing_sqlite_file,
    _note,
    _storage,
    _target,
    app,
)
from dialed.errors import ConfigError, StudyNotFoundError
from dialed.storage import redact_url

__all__ = ["dashboard", "report"]


@app.command()
def dashboard(
    ctx: typer.Context,
    storage: StorageOption = None,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; anything but loopback needs "
                                         "a token (one is generated and printed).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port (0: any free).")]
    = 8080,
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="DIALED_DASHBOARD_TOKEN",
                     help="Access token every request must carry (16+ URL-safe characters).",
                     show_default=False),
    ] = None,
) -> None:
    """Serve a live, read-only dashboard of the studies in the storage (until Ctrl-C)."""
    url = _storage(ctx, storage)
    with _errors(ctx, url):
        try:
            from dialed.dashboard import DashboardServer
        except ImportError:
            raise ConfigError(
                f"the dashboard needs its extra: {install_hint('dashboard')}"
            ) from None
        server = DashboardServer(url, host=host, port=port, token=token)
        _note(f"dialed dashboard of {redact_url(url)} (read-only); Ctrl-C stops it")
        if server.token is not None and token is None:
            _note("access token generated for this server (anything but loopback needs one)")
        server.run(announce=typer.echo)  # prints the URL once the server accepts requests


@app.command()
def report(
    ctx: typer.Context,
    study: StudyArg,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The HTML file to write.")
    ] = Path("report.html"),
    storage: StorageOption = None,
) -> None:
    """Write one self-contained HTML file with the study's plots and tables (opens offline)."""
    study, url = _target(ctx, study, storage)
    with _errors(ctx, url):
        missing = _missing_sqlite_file(url)
        if missing is not None:
            raise StudyNotFoundError(
                f"no study named {study!r} in {redact_url(url)} (the database file {missing} "
                "does not exist; give --storage)"
            )
        from dialed.report import write_report

        path = write_report(url, study, output)
        size = path.stat().st_size / 1e6
        _note(f"wrote the report of {study!r} to {path} ({size:.1f} MB, self-contained)")
