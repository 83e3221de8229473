"""The ladder's figures: each parameter's optimum against scale on log-log axes, with the fitted
law, its bootstrap band, and the latest prediction; read from the ``ladder:fit`` record that
:mod:`dialed.workflow`'s ladder stores in its study. A figure is ``{"data", "layout", "note"}``
as in :mod:`dialed.dashboard.figures`, whose layout and text escaping it reuses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from dialed.dashboard._figures import BEST, COLORS, MUTED, _axis, _layout, num, text

__all__ = ["scaling_figures"]


def scaling_figures(fit: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """One figure per fitted parameter, keyed ``scaling:<name>``."""
    out: dict[str, dict[str, Any]] = {}
    laws = fit.get("laws") or {}
    curves = fit.get("curves") or {}
    pred = fit.get("prediction") or {}
    scale = str(fit.get("scale") or "scale")
    for name, law in laws.items():
        if not isinstance(law, Mapping):
            continue
        out[f"scaling:{name}"] = _figure(str(name), law, curves.get(name) or {}, pred, scale)
    return out


def _figure(name: str, law: Mapping[str, Any], curve: Mapping[str, Any],
            pred: Mapping[str, Any], scale: str) -> dict[str, Any]:
    log = law.get("law") == "power"
    scales = [num(v) for v in law.get("scales") or []]
    optima = [num(v) for v in law.get("optima") or []]
    sigmas = [num(v) or 0.0 for v in law.get("sigmas") or []]
    # one standard deviation of the optimum, in the parameter's units (log units for a power law)
    hi = [o * math.exp(s) - o if log and o else s for o, s in zip(optima, sigmas, strict=False)
          if o is not None]
    lo = [o - o * math.exp(-s) if log and o else s for o, s in zip(optima, sigmas, strict=False)
          if o is not None]
    data: list[dict[str, Any]] = []
    if curve.get("scales"):
        data.append({"type": "scatter", "mode": "lines", "name": "band",
                     "x": list(curve["scales"]) + list(curve["scales"])[::-1],
                     "y": list(curve["high"]) + list(curve["low"])[::-1],
                     "fill": "toself", "line": {"width": 0}, "fillcolor": "rgba(37,99,235,0.15)",
                     "hoverinfo": "skip"})
        data.append({"type": "scatter", "mode": "lines", "name": text(law.get("formula") or "law"),
                     "x": list(curve["scales"]), "y": list(curve["value"]),
                     "line": {"color": COLORS["complete"]}})
    data.append({"type": "scatter", "mode": "markers", "name": "rung optimum",
                 "x": scales, "y": optima,
                 "text": [text(r) for r in law.get("rungs") or []],
                 "error_y": {"type": "data", "symmetric": False, "array": hi, "arrayminus": lo,
                             "color": MUTED},
                 "marker": {"color": "#111827", "size": 8},
                 "hovertemplate": "%{text}<br>" + text(scale) + "=%{x}<br>" + text(name)
                                  + "=%{y:.4g}<extra></extra>"})
    params = pred.get("params") or {}
    if name in params and num(pred.get("scale")) is not None:
        iv = (pred.get("intervals") or {}).get(name) or [params[name], params[name]]
        v = float(params[name])
        data.append({"type": "scatter", "mode": "markers", "name": "prediction",
                     "x": [num(pred["scale"])], "y": [v],
                     "error_y": {"type": "data", "symmetric": False,
                                 "array": [float(iv[1]) - v], "arrayminus": [v - float(iv[0])],
                                 "color": BEST},
                     "marker": {"color": BEST, "size": 11, "symbol": "star"}})
    warnings = [str(w) for w in law.get("warnings") or []]
    b_iv = law.get("b_interval") or [None, None]
    note = (f"{law.get('formula', '')}; b in [{_g(b_iv[0])}, {_g(b_iv[1])}] "
            f"({float(law.get('confidence') or 0.95):.0%}, bootstrap seed {law.get('seed')}); "
            f"rungs: {', '.join(str(r) for r in law.get('rungs') or [])}"
            + ("; warning: " + "; ".join(warnings) if warnings else ""))
    layout = _layout(xaxis=_axis(text(scale), type="log"),
                     yaxis=_axis(text(name), type="log" if log else "linear"))
    return {"data": data, "layout": layout, "note": note}


def _g(v: Any) -> str:
    return "?" if v is None else f"{float(v):.3g}"
