"""``dialed worker``: run trials of an existing study from this machine.

Start as many workers as there are machines (or GPUs) on one shared storage, usually
PostgreSQL; each claims waiting trials (a grid's cells, retries) or creates new ones, and every
result lands in the storage. A worker needs only the study's name and the storage: the objective
comes from ``--objective`` or from what ``dialed run`` recorded when the study file first ran.
Registered on the ``dialed`` app by importing this module (the last lines of ``_app.py``).
"""

from __future__ import annotations

import traceback
import warnings
from typing import Annotated, Any

import typer

from dialed.cli import _format as fmt
from dialed.cli._app import (
    StorageOption,
    StudyArg,
    _errors,
    _fail,
    _note,
    _open,
    _options,
    _target,
    app,
)
from dialed.errors import ConfigError, DialedError
from dialed.storage import redact_url
from dialed.trial import TrialRecord

__all__ = ["worker"]


@app.command()
def worker(
    ctx: typer.Context,
    study: StudyArg,
    storage: StorageOption = None,
    n_trials: Annotated[
        int | None,
        typer.Option("--n-trials", min=1, help="Trials this worker runs (default: until the "
                                               "sampler is exhausted or Ctrl-C)."),
    ] = None,
    timeout: Annotated[
        str | None,
        typer.Option("--timeout", help="Take no new trial after this long: seconds, or '90s', "
                                       "'10m', '2h'."),
    ] = None,
    objective: Annotated[
        str | None,
        typer.Option("--objective", help="module:function to run (default: the study file's "
                                         "objective, recorded by dialed run)."),
    ] = None,
) -> None:
    """Run trials of an existing study from this machine, on its shared storage."""
    study, url = _target(ctx, study, storage)
    with _errors(ctx, url):
        from dialed import config  # pydantic: imported when the command runs, not for --help

        seconds = None
        if timeout is not None:
            try:
                seconds = config.parse_duration(timeout)
            except ValueError as exc:
                raise ConfigError(f"--timeout: {exc}") from None
        handle = _open(study, url)
        function = config.recorded_objective(handle, objective)
        recorded = handle.attrs.get(config.STUDY_FILE_ATTR)
        catch = recorded.get("catch", True) if isinstance(recorded, dict) else True
        ran: list[TrialRecord] = []

        def count(_: Any, record: TrialRecord) -> None:
            ran.append(record)

        if n_trials is None and seconds is None:
            _note(f"worker on study {study!r} in {redact_url(url)}: running until the sampler "
                  "is exhausted or Ctrl-C")
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=r"optimize\(\) with neither")
                handle.optimize(function, n_trials=n_trials, timeout=seconds,
                                catch=(Exception,) if catch else (), callbacks=[count])
        except (DialedError, KeyboardInterrupt):
            raise
        except Exception as exc:  # the objective raised and the study file says catch: false
            if _options(ctx).debug:
                traceback.print_exc()
            text = str(exc).strip().splitlines()
            _fail(f"study {study!r}: the objective raised {type(exc).__name__}: "
                  f"{text[0] if text else '(no message)'} (the trial is stored as failed)")
        counts: dict[str, int] = {}
        for record in ran:
            counts[record.state.value] = counts.get(record.state.value, 0) + 1
        summary = fmt.counts_line(counts) if ran else "no trial to run"
        typer.echo(f"worker ran {len(ran)} trials of study {study!r} in {redact_url(url)}: "
                   f"{summary}")
