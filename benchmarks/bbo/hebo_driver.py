"""HEBO behind a JSON-lines ask/tell protocol on stdin/stdout, run in HEBO's own virtualenv.

HEBO pins an old NumPy (``/work/shared/peers/hebo-constraints.txt``), so it cannot share the
benchmark's environment; :class:`benchmarks.bbo.methods.HeboMethod` starts this file with that
venv's Python and talks to it one JSON object per line. The file imports only the standard
library, NumPy, pandas, torch and HEBO (never dialed or the benchmark package).

Requests and replies (one line each):

* ``{"op": "init", "seed": S, "space": [{"name", "kind", "log", "low", "high"}, ...]}``
  -> ``{"ok": true, "hebo": VERSION}``. ``kind`` is ``real``/``int``/``bool``; ``low``/``high``
  are the search coordinates of :class:`benchmarks.bbo.problems.Param` (logit reals already
  on their logit); ``log`` marks a log scale (HEBO's ``pow``/``pow_int`` types, base 10).
* ``{"op": "ask", "n": N}`` -> ``{"params": [{...}, ...N], "cpu_s": C}``: one call of
  ``HEBO.suggest(n_suggestions=N)`` (its batch proposal, as in the 2020 challenge), with the
  CPU seconds this process spent in it.
* ``{"op": "tell", "params": [{...}], "losses": [L, ...]}`` -> ``{"ok": true, "cpu_s": C}``;
  a failed evaluation travels as ``null`` and is left out (HEBO's GP cannot take ``inf``).
* ``{"op": "quit"}`` ends the process.

Seeding: ``numpy.random.seed`` and ``torch.manual_seed`` from the seed, and HEBO's
``scramble_seed`` (its Sobol initial design), so a run is repeatable.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from typing import Any


def _design(space: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in space:
        name, kind, log = p["name"], p["kind"], bool(p["log"])
        if kind == "bool":
            out.append({"name": name, "type": "bool"})
        elif kind == "int":
            out.append({"name": name, "type": "pow_int" if log else "int",
                        "lb": int(p["low"]), "ub": int(p["high"])})
        elif log:
            out.append({"name": name, "type": "pow", "lb": float(p["low"]),
                        "ub": float(p["high"]), "base": 10})
        else:
            out.append({"name": name, "type": "num", "lb": float(p["low"]),
                        "ub": float(p["high"])})
    return out


def _plain(value: Any, kind: str) -> Any:
    if kind == "bool":
        return bool(value)
    if kind == "int":
        return round(float(value))
    return float(value)


def main() -> int:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    import warnings

    warnings.simplefilter("ignore")
    import numpy as np
    import pandas as pd
    import torch

    torch.set_num_threads(1)
    from hebo.design_space.design_space import DesignSpace
    from hebo.optimizers.hebo import HEBO

    out = sys.stdout
    sys.stdout = sys.stderr  # anything HEBO prints must not break the protocol
    opt: Any = None
    kinds: dict[str, str] = {}
    names: list[str] = []

    def reply(obj: dict[str, Any]) -> None:
        out.write(json.dumps(obj) + "\n")
        out.flush()

    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        op = req.get("op")
        if op == "init":
            seed = int(req["seed"])
            np.random.seed(seed)
            torch.manual_seed(seed)
            names = [p["name"] for p in req["space"]]
            kinds = {p["name"]: p["kind"] for p in req["space"]}
            design = DesignSpace().parse(_design(req["space"]))
            opt = HEBO(design, scramble_seed=seed)
            from importlib import metadata

            reply({"ok": True, "hebo": metadata.version("HEBO")})
        elif op == "ask":
            c0 = time.process_time()
            rec = opt.suggest(n_suggestions=int(req["n"]))
            params = [{k: _plain(row[k], kinds[k]) for k in names}
                      for row in rec.to_dict(orient="records")]
            reply({"params": params, "cpu_s": time.process_time() - c0})
        elif op == "tell":
            c0 = time.process_time()
            keep = [i for i, v in enumerate(req["losses"])
                    if v is not None and math.isfinite(float(v))]
            if keep:
                frame = pd.DataFrame([req["params"][i] for i in keep], columns=names)
                y = np.array([[float(req["losses"][i])] for i in keep])
                opt.observe(frame, y)
            reply({"ok": True, "cpu_s": time.process_time() - c0})
        elif op == "quit":
            return 0
        else:
            reply({"error": f"unknown op {op!r}; use init, ask, tell or quit"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
