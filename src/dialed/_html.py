"""The HTML that Jupyter shows for a study or a summary (``_repr_html_``): a captioned table of
label and value rows, or preformatted text. Every string is escaped here, so a study name or a
categorical value such as ``<script>`` shows as written."""

from __future__ import annotations

import html
from collections.abc import Sequence

__all__ = ["preformatted", "table"]

_STYLE = "text-align:left;vertical-align:top;padding:2px 10px 2px 0"


def table(caption: str, rows: Sequence[tuple[str, str]]) -> str:
    """``<table>`` with ``caption`` above and one ``label | value`` row per pair."""
    body = "".join(
        f'<tr><th style="{_STYLE}">{html.escape(label)}</th>'
        f'<td style="{_STYLE}">{html.escape(value)}</td></tr>'
        for label, value in rows
    )
    return (f'<table class="dialed"><caption style="text-align:left;font-weight:bold">'
            f"{html.escape(caption)}</caption>{body}</table>")


def preformatted(caption: str, text: str) -> str:
    """``text`` (a table drawn in characters) in a ``<pre>`` under a bold ``caption``."""
    return (f'<div class="dialed"><b>{html.escape(caption)}</b>'
            f'<pre style="line-height:1.3">{html.escape(text)}</pre></div>')
