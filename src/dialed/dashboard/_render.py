"""HTML: the Jinja2 templates of the pages and the report, always autoescaped.

Every value a template prints is HTML-escaped by Jinja2 (``autoescape=True`` for every
template, whatever its name), so a study name, a parameter value or an error text shows as
text. The only values marked safe are the report's inlined scripts and styles, which come from
this package's own files, and its JSON data, which :func:`script_json` escapes for a
``<script type="application/json">`` element.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math
from importlib import resources
from typing import Any

from dialed._util import install_hint, short_value
from dialed.errors import ConfigError

__all__ = ["environment", "json_text", "script_hash", "script_json", "static_text"]

_STATIC = "static"


def environment() -> Any:
    """The Jinja2 environment of the dashboard's templates (needs the dashboard extra)."""
    try:
        import jinja2
    except ImportError:
        raise ConfigError(
            f"the dashboard and the report need Jinja2: {install_hint('dashboard')}"
        ) from None
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("dialed.dashboard", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["number"] = _number
    return env


def static_text(name: str) -> str:
    """One of the files under ``dialed/dashboard/static`` as text."""
    return resources.files("dialed.dashboard").joinpath(_STATIC, name).read_text("utf-8")


def json_text(value: Any) -> str:
    """Compact JSON; NaN and infinities become null (JSON has neither)."""
    try:
        return json.dumps(value, allow_nan=False, separators=(",", ":"))
    except ValueError:
        return json.dumps(_finite(value), allow_nan=False, separators=(",", ":"))


def script_json(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&``."""
    return (json_text(value).replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def inline_script(code: str) -> str:
    """Script text that cannot end its ``<script>`` element early."""
    return code.replace("</script", "<\\/script").replace("<!--", "<\\!--")


def script_hash(code: str) -> str:
    """The CSP source (``'sha256-...'``) that allows exactly this inline script."""
    digest = hashlib.sha256(code.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _when(ts: float | None) -> str:
    if ts is None:
        return "–"
    return dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _number(v: Any) -> str:
    return short_value(v, "–")
