"""A study as one self-contained HTML file: ``dialed report STUDY -o report.html``.

The file holds everything it shows: plotly.js and the page's scripts inlined, the study's data
inlined as JSON. It opens from a disk, an e-mail or a ticket with no network access, and its
Content-Security-Policy (a ``<meta>`` element) allows exactly its own inline scripts, by hash,
and no connection anywhere. It shows what the dashboard's study page shows at the moment it
is written: the summary, the same plots (built by the same code), the trial table (sortable,
filterable, paged in the page; every trial up to 2,000, else the best and the latest) and each
listed trial's details, the search space, notes, workflow records and settings.
"""

from __future__ import annotations

from dialed.report._report import render_report, write_report

__all__ = ["render_report", "write_report"]
