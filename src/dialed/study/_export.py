"""A study's trials as flat rows, CSV or JSON text (``Study.export``, ``dialed export``)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

from dialed.errors import ConfigError
from dialed.trial import TrialRecord

__all__ = ["export_text", "flatten_trials"]


def flatten_trials(trials: Sequence[TrialRecord]) -> list[dict[str, Any]]:
    """One flat row per trial: number, state, metrics, params_*, times, costs, worker, error."""
    rows = []
    for t in trials:
        row: dict[str, Any] = {"number": t.number, "state": t.state.value}
        row.update({f"metric_{k}": v for k, v in t.metrics.items()})
        row.update({
            f"params_{k}": json.dumps(v) if isinstance(v, (list, dict)) else v
            for k, v in t.params.items()
        })
        row.update({
            "seed": t.seed,
            "started_at": t.start.isoformat() if t.start else None,
            "finished_at": t.end.isoformat() if t.end else None,
            "wall_seconds": t.wall_seconds,
            "cpu_seconds": t.cpu_seconds,
            "peak_memory_mb": t.peak_memory_mb,
            "worker": t.worker,
            "error": (t.error or "").splitlines()[0] if t.error else None,
        })
        rows.append(row)
    return rows


def export_text(trials: Sequence[TrialRecord], format: str, *,
                study: Mapping[str, Any]) -> str:
    """``trials`` as CSV (one flat row each) or JSON (``study``, then each trial's record)."""
    if format == "csv":
        rows = flatten_trials(trials)
        buf = io.StringIO()
        columns = list(dict.fromkeys(k for r in rows for k in r)) or ["number"]
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue()
    if format == "json":
        return json.dumps({"study": dict(study), "trials": [t.to_dict() for t in trials]},
                          indent=2)
    raise ConfigError(f"export format must be 'csv' or 'json', got {format!r}")
