"""``dialed ladder``: run a ladder of studies over a scale, and predict a larger size from it.

    dialed ladder STUDY.yaml --scale width=16,32,64,128
    dialed ladder predict NAME --scale width=1024 [--enqueue STUDY]

Registered on the ``dialed`` app by importing this module (the last lines of ``_app.py``); a
thin adapter over :mod:`dialed.workflow`'s ladder. Errors are one line, exit code 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from dialed.cli._app import StorageOption, _errors, _options, _target, _write_stdout, app
from dialed.errors import ConfigError

__all__ = ["ladder"]


def _print(text: str) -> None:
    _write_stdout(text if text.endswith("\n") else text + "\n")


def _value(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else json.dumps(v) if not isinstance(v, str) else v


@app.command()
def ladder(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(
        metavar="STUDY.yaml | predict",
        help="The study file to run once per size, or 'predict' followed by the ladder's name.")],
    name: Annotated[str | None, typer.Argument(
        metavar="[NAME]", help="With predict: the ladder's name (the study file's study), or "
                               "its study file.")
    ] = None,
    scale: Annotated[str, typer.Option(
        "--scale", help="The sizes: width=16,32,64,128 to run; width=1024 to predict.")] = "",
    enqueue: Annotated[str | None, typer.Option(
        "--enqueue", help="With predict: put the prediction into this study (at the target "
                          "size) as its baseline, and queue it, its inner interval's ends and "
                          "its interval's corners.")] = None,
    n_trials: Annotated[int | None, typer.Option(
        "--n-trials", min=1, help="Trials per rung (replaces the file's budget.trials).")
    ] = None,
    storage: StorageOption = None,
) -> None:
    """Tune small, extrapolate up: one study per size, each optimum's law, and a prediction."""
    with _errors(ctx):
        from dialed.workflow import parse_scales

        if not scale:
            raise ConfigError("give --scale, such as --scale width=16,32,64,128 (or "
                              "width=1024 with predict)")
        scale_name, values = parse_scales(scale)
        if target == "predict":
            if name is None:
                raise ConfigError("dialed ladder predict NAME --scale width=1024: name the "
                                  "ladder (the study file's study)")
            _predict(ctx, name, scale_name, values, enqueue, storage)
            return
        if name is not None or enqueue is not None:
            raise ConfigError("NAME and --enqueue go with predict: dialed ladder predict NAME "
                              "--scale width=1024 --enqueue STUDY")
        _run(ctx, Path(target), scale_name, values, n_trials, storage)


def _run(ctx: typer.Context, path: Path, scale: str, values: list[float], n_trials: int | None,
         storage: str | None) -> None:
    from dialed.config import load_study_file
    from dialed.workflow import run_file_ladder

    cfg = load_study_file(path)
    url = storage or _options(ctx).storage or cfg.storage_url
    fit = run_file_ladder(cfg, scale, values, storage=url, n_trials=n_trials)
    _print(fit.describe())


def _predict(ctx: typer.Context, name: str, scale: str, values: list[float],
             enqueue: str | None, storage: str | None) -> None:
    from dialed.workflow import enqueue_prediction, fit_ladder, ladder_studies, record_prediction

    if len(values) != 1:
        raise ConfigError(f"predict takes one size, such as --scale {scale}=1024, got "
                          f"{len(values)}")
    name, url = _target(ctx, name, storage)
    studies, ladder_scale, seed = ladder_studies(name, url)
    if scale != ladder_scale:
        raise ConfigError(f"ladder {name!r} is over {ladder_scale}, not {scale}: give --scale "
                          f"{ladder_scale}=SIZE")
    fit = fit_ladder(studies, scale=ladder_scale, seed=seed)
    pred = fit.predict(values[0])
    record_prediction(name, url, fit, pred)
    lines = [fit.describe(), f"predicted at {scale}={values[0]:g} "
             f"({fit.laws[next(iter(fit.laws))].confidence:.0%} intervals):" if fit.laws
             else f"predicted at {scale}={values[0]:g}:"]
    for pname, v in pred.params.items():
        lo_hi = pred.intervals.get(pname)
        extra = f"   [{_value(lo_hi[0])}, {_value(lo_hi[1])}]" if lo_hi else ""
        lines.append(f"  {pname} = {_value(v)}{extra}")
    if pred.value is not None:
        v, lo, hi = pred.value
        lines.append(f"  {fit.metric.name} = {v:.4g}   [{lo:.4g}, {hi:.4g}] (loss law)")
    else:
        lines.append(f"  {fit.metric.name}: no loss law ({'; '.join(fit.loss.warnings)})")
    for w in pred.warnings:
        if w not in fit.warnings:
            lines.append(f"  warning: {w}")
    if enqueue is not None:
        target = enqueue_prediction(name, pred, enqueue, url)
        queued = (target.attrs.get("ladder:prediction") or {}).get("enqueued")
        lines.append(f"enqueued into study {enqueue!r}: the prediction as its baseline"
                     + (f" and {int(queued) - 1} points of its intervals (the inner "
                        "interval's ends, then the corners)" if queued else ""))
    _print("\n".join(lines))
