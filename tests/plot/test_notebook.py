"""``examples/notebooks/plots.ipynb`` run top to bottom on a real Jupyter kernel (nbclient,
ipykernel): no cell fails, the study and the summary show as HTML, and every figure of
``dialed.plot`` comes out as a plotly figure with points in it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbclient
import nbformat

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "notebooks" / "plots.ipynb"
PLOTLY = "application/vnd.plotly.v1+json"


def _points(trace: dict[str, Any]) -> int:
    """How many values a trace draws (markers, bars, a surface's cells, parcoords lines)."""
    if trace.get("type") == "parcoords":
        return min(len(d["values"]) for d in trace["dimensions"])
    if trace.get("type") == "contour":
        return sum(1 for row in trace["z"] for v in row if v is not None)
    return len(trace.get("x") or [])


def test_the_notebook_runs_and_draws_every_figure(tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code")  # kept clean
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, with the cell's traceback, if a cell fails
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    figures = [o["data"][PLOTLY] for o in outputs if PLOTLY in o.get("data", {})]
    titles = [f["layout"]["title"]["text"] for f in figures]
    assert [t.split(":")[0] for t in titles] == [
        "optimization history", "parameter importance for error", "contour of error", "slices",
        "parallel coordinates", "intermediate values", "timeline of trials by worker",
        "Pareto front",
    ]
    for figure, title in zip(figures, titles, strict=True):
        assert figure["data"], title
        assert all(_points(trace) > 0 for trace in figure["data"]), title
    importance = figures[1]
    assert {t["name"] for t in importance["data"]} == {"parameter", "family"}
    assert set(importance["data"][1]["y"]) == {"regularization", "optimizer"}
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("dialed study &#x27;digits-sgd&#x27;" in h and "best" in h for h in html)
    assert any("workflow summary of study" in h and "<pre" in h for h in html)
