"""Render the report: the dashboard's data for one study, inlined in one HTML file."""

from __future__ import annotations

import time
from pathlib import Path

from dialed._util import install_hint
from dialed._version import __version__
from dialed.dashboard import (
    Dashboard,
    NotFound,
    environment,
    inline_script,
    open_read_only,
    script_hash,
    script_json,
    static_text,
)
from dialed.errors import ConfigError, StudyNotFoundError
from dialed.storage import Storage

__all__ = ["render_report", "write_report"]

_SCRIPTS = ("plotly-strict.min.js", "dialed.js", "report.js")


def render_report(storage: str | Storage, study: str, *, max_rows: int = 2000) -> str:
    """The report of ``study`` in ``storage`` as HTML text (read-only: nothing is written)."""
    source = open_read_only(storage)
    model = Dashboard(source, min_interval=0.0)
    try:
        overview = model.overview(study)
        plots = model.plots(study)
        table = model.snapshot_rows(study, limit=max_rows)
    except NotFound as exc:
        raise StudyNotFoundError(str(exc)) from None
    data = {"overview": overview, "plots": plots, "table": table,
            "generated_at": time.time(), "version": __version__}
    scripts = [inline_script(static_text(name)) for name in _SCRIPTS]
    csp = (
        "default-src 'none'; script-src " + " ".join(script_hash(s) for s in scripts) +
        "; style-src 'unsafe-inline'; img-src data: blob:; base-uri 'none'; form-action 'none'"
    )
    try:
        from markupsafe import Markup  # Jinja2's, in the dashboard extra
    except ImportError:
        raise ConfigError(f"the report needs the dashboard extra: {install_hint('dashboard')}"
                          ) from None

    html: str = environment().get_template("report.html").render(
        o=overview,
        storage=source.shown_url,
        version=__version__,
        generated_at=data["generated_at"],
        csp=csp,
        css=Markup(static_text("dialed.css").replace("</style", "<\\/style")),
        data_json=Markup(script_json(data)),
        scripts=[Markup(s) for s in scripts],
    )
    return html


def write_report(storage: str | Storage, study: str, path: str | Path, *,
                 max_rows: int = 2000) -> Path:
    """Write the report of ``study`` to ``path``; returns the path written."""
    text = render_report(storage, study, max_rows=max_rows)
    out = Path(path)
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write the report to {out}: {exc.strerror or exc}") from None
    return out
