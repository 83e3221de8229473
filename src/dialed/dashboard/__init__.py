"""The live dashboard: a read-only web view of the studies in a storage.

``dialed dashboard --storage sqlite:///dialed.db`` serves it on http://127.0.0.1:8080/; from
Python, ``DashboardServer(url).start()`` serves it from a thread. It reads the storage and
never writes to it (see :mod:`dialed.dashboard._source`), guards every request (read-only
methods, an access token off loopback, a strict Content-Security-Policy: see
:mod:`dialed.dashboard._security`) and keeps big studies responsive by aggregating and
downsampling on the server (:mod:`dialed.dashboard.figures`, :mod:`dialed.dashboard._model`).
The page templates' helpers (:func:`environment` and the inlining of the report's scripts) are
exported for :mod:`dialed.report`.

Starlette, uvicorn and Jinja2 are the ``dashboard`` extra, imported when a server is made.
plotly.js is bundled: ``static/plotly-strict.min.js`` is the npm package
``plotly.js-strict-dist-min`` (the build that needs no ``eval``), MIT licensed
(``static/LICENSE-plotly.js.txt``); nothing is loaded from a CDN.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dialed._util import install_hint
from dialed.dashboard._model import Dashboard, NotFound
from dialed.dashboard._render import (
    environment,
    inline_script,
    json_text,
    script_hash,
    script_json,
    static_text,
)
from dialed.dashboard._source import LiveTrials, ReadOnlyStorage, open_read_only
from dialed.errors import ConfigError

if TYPE_CHECKING:
    from dialed.dashboard._serve import DashboardServer, serve

__all__ = [
    "Dashboard",
    "DashboardServer",
    "LiveTrials",
    "NotFound",
    "ReadOnlyStorage",
    "create_app",
    "environment",
    "inline_script",
    "json_text",
    "open_read_only",
    "script_hash",
    "script_json",
    "serve",
    "static_text",
]


def create_app(storage: Any, **options: Any) -> Any:
    """The dashboard as an ASGI app (see :func:`dialed.dashboard._server.create_app`)."""
    try:
        from dialed.dashboard._server import create_app as make
    except ImportError:
        raise ConfigError(
            f"the dashboard needs its extra: {install_hint('dashboard')}"
        ) from None
    return make(storage, **options)


def __getattr__(name: str) -> Any:  # the server needs the extra: import it when asked for
    if name in ("DashboardServer", "serve"):
        from dialed.dashboard import _serve

        return getattr(_serve, name)
    raise AttributeError(f"module 'dialed.dashboard' has no attribute {name!r}")
