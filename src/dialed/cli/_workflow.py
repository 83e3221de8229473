"""The workflow's commands: summary, confirm, verify, promote, history, rollback, get, check,
retune. Registered on the ``dialed`` app by importing this module (the last line of
``_app.py``). Thin adapters over :mod:`dialed.workflow`; errors are one line, exit code 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dialed.cli._app import (
    StorageOption,
    StudyArg,
    _errors,
    _note,
    _open,
    _storage,
    _target,
    _write_stdout,
    app,
)
from dialed.errors import ConfigError
from dialed.storage import redact_url

if TYPE_CHECKING:
    from dialed.study import Study

__all__ = [
    "check",
    "confirm",
    "get",
    "history",
    "promote",
    "retune_command",
    "rollback",
    "summary",
    "verify",
]

EXIT_RETUNE = 1  # dialed check: the data changed enough to re-tune


def _workflow() -> Any:
    """:mod:`dialed.workflow`, imported when a workflow command runs (``--help`` does not)."""
    import dialed.workflow as workflow

    return workflow


def _formats() -> tuple[str, ...]:
    from dialed.workflow import FORMATS

    return tuple(FORMATS)


def _function(study: Study, given: str | None, key: str, option: str) -> Any:
    """The study's ``key`` function (objective, test, data): ``--option`` or the recorded one."""
    from dialed.config import bind_to_study  # dialed.llm:objective / :test read llm: here

    if given is not None:
        return bind_to_study(_workflow().import_function(given, Path.cwd(), key), study)
    found = _workflow().recorded_function(study, key)
    if found is None:
        what = {"objective": "objective", "test": "test function", "data": "data loader"}[key]
        raise ConfigError(
            f"study {study.name!r} names no {what}: give {option} module:function (or add "
            f"'{key}: module:function' to its study file and run it again)"
        )
    spec, base_dir = found
    return bind_to_study(_workflow().import_function(spec, base_dir, key), study)


def _print(text: str) -> None:
    _write_stdout(text if text.endswith("\n") else text + "\n")


def _short(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else json.dumps(v) if v is None else str(v)


# -- study steps ------------------------------------------------------------------------------
@app.command()
def summary(
    ctx: typer.Context,
    study: StudyArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    storage: StorageOption = None,
) -> None:
    """Baseline, best so far, targets, stages with attributed gains, confirm and verify."""
    study, url = _target(ctx, study, storage)
    with _errors(ctx, url):
        result = _workflow().summarize(_open(study, url))
        _print(json.dumps(result.to_dict(), indent=2) if as_json else result.to_text())


@app.command()
def confirm(
    ctx: typer.Context,
    study: StudyArg,
    top: Annotated[int, typer.Option("--top", min=1, help="Configurations to re-evaluate.")] = 3,
    repeats: Annotated[
        int | None,
        typer.Option("--repeats", min=2, help="Fresh seeds per configuration (default: the "
                                              "study's repeats, else 3)."),
    ] = None,
    objective: Annotated[
        str | None,
        typer.Option("--objective", help="module:function (default: the study's recorded one)."),
    ] = None,
    n_jobs: Annotated[int, typer.Option("--n-jobs", min=1, help="Worker processes.")] = 1,
    no_progress: Annotated[
        bool, typer.Option("--no-progress", help="Do not show the progress bar.")
    ] = False,
    storage: StorageOption = None,
) -> None:
    """Re-evaluate the top K configurations with R fresh seeds; recommend by confirmed mean."""
    study, url = _target(ctx, study, storage)
    with _errors(ctx, url):
        handle = _open(study, url)
        fn = _function(handle, objective, "objective", "--objective")
        wf = _workflow().Workflow(handle, fn, n_jobs=n_jobs, show_progress=not no_progress)
        wf.confirm(top=top, repeats=repeats)
        _print(_workflow().summarize(handle).to_text())


@app.command()
def verify(
    ctx: typer.Context,
    study: StudyArg,
    force: Annotated[
        bool, typer.Option("--force", help="Evaluate on the test data again (recorded as forced).")
    ] = False,
    test: Annotated[
        str | None,
        typer.Option("--test", help="module:function (default: the study file's 'test')."),
    ] = None,
    storage: StorageOption = None,
) -> None:
    """Score the recommended configuration once on the untouched test data; report the gap."""
    study, url = _target(ctx, study, storage)
    with _errors(ctx, url):
        handle = _open(study, url)
        fn = _function(handle, test, "test", "--test")
        result = _workflow().Workflow(handle).verify(fn, force=force)
        m = handle.metrics.primary.name
        lines = [f"locked test #{result.number}{' (forced)' if result.forced else ''} of "
                 f"study {handle.name!r}, configuration from {result.source}:"]
        for name, val in result.validation.items():
            if name in result.test:
                lines.append(f"  {name}: validation {_short(val)}, test "
                             f"{_short(result.test[name])}, gap {result.gap[name]:+.4g}")
        verdict = "POSSIBLE VALIDATION OVERFIT" if result.flagged else \
            "no sign of validation overfit"
        lines.append(f"  {m} gap as a loss {result.loss_gap or 0.0:+.4g}, threshold "
                     f"{result.threshold or 0.0:.4g}: {verdict}")
        lines.append(f"  rule: {_workflow().verify_rule()}")
        _print("\n".join(lines))


# -- the registry -----------------------------------------------------------------------------
@app.command()
def promote(
    ctx: typer.Context,
    study: StudyArg,
    name: Annotated[str, typer.Option("--as", help="The configuration's name in the registry.")],
    trial: Annotated[
        int | None,
        typer.Option("--trial", min=0, help="Promote this trial's parameters (default: the "
                                            "confirmed recommendation)."),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="Why, in a few words.")] = None,
    storage: StorageOption = None,
) -> None:
    """Store a new version of a named configuration from a study."""
    study, url = _target(ctx, study, storage)
    with _errors(ctx, url):
        handle = _open(study, url)
        v = _workflow().Registry(url).promote(handle, name=name, trial=trial, note=note)
        _note(f"promoted {name!r} version {v.version} from study {v.study!r} "
              f"({v.source}{'' if v.trial is None else f', trial {v.trial}'}) in "
              f"{redact_url(url)}")
        _print(_workflow().render_configuration(v, "yaml"))


@app.command()
def history(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The configuration's name.")],
    storage: StorageOption = None,
) -> None:
    """Every version of a named configuration, with the parameters each one changed."""
    url = _storage(ctx, storage)
    with _errors(ctx, url):
        reg = _workflow().Registry(url)
        versions = reg.history(name)
        current = versions[-1][0].version
        lines = []
        for v, changed in versions:
            when = _timestamp(v.created_at)
            what = (f"rollback to v{v.rollback_to}" if v.kind == "rollback"
                    else f"promoted from {v.study} ({v.source})")
            mark = "  <- current" if v.version == current else ""
            lines.append(f"v{v.version}  {when}  {what}{mark}")
            if v.metrics:
                lines.append("    metrics: " + ", ".join(f"{k}={_short(x)}"
                                                       for k, x in v.metrics.items()))
            if v.test:
                test_metrics = v.test.get("metrics") or {}
                lines.append("    test: " + ", ".join(f"{k}={_short(x)}"
                                                    for k, x in test_metrics.items()))
            if v.note:
                lines.append(f"    note: {v.note}")
            if v.version == 1:
                lines.append("    params: " + ", ".join(f"{k}={_short(x)}"
                                                      for k, x in v.params.items()))
            elif changed:
                lines.append("    changed: " + ", ".join(
                    f"{k} {_short(a)} -> {_short(b)}" for k, (a, b) in changed.items()))
            else:
                lines.append("    changed: nothing")
        _print("\n".join(lines))


def _timestamp(ts: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


@app.command()
def rollback(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The configuration's name.")],
    to: Annotated[
        int | None,
        typer.Option("--to", min=1, help="The version to make current (default: the one "
                                         "before the current)."),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="Why, in a few words.")] = None,
    storage: StorageOption = None,
) -> None:
    """Make an earlier version current again (recorded as a new version)."""
    url = _storage(ctx, storage)
    with _errors(ctx, url):
        reg = _workflow().Registry(url)
        before = reg.get(name)
        v = reg.rollback(name, to=to, note=note)
        changed = _workflow().diff_params(before.params, v.params)
        _note(f"{name!r} is now version {v.version}, a copy of version {v.rollback_to}"
              + ("; changed " + ", ".join(f"{k} {_short(a)} -> {_short(b)}"
                                          for k, (a, b) in changed.items())
                 if changed else "; the parameters did not change"))
        _print(_workflow().render_configuration(v, "yaml"))


@app.command()
def get(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The configuration's name.")],
    format: Annotated[
        str, typer.Option("--format", "-f", help="yaml, json or env (NAME=value lines).")
    ] = "yaml",
    version: Annotated[
        int | None, typer.Option("--version", min=1, help="This version (default: current).")
    ] = None,
    prefix: Annotated[
        str, typer.Option("--prefix", help="Prefix of the variable names with --format env.")
    ] = "",
    storage: StorageOption = None,
) -> None:
    """Print a named configuration for a training script."""
    url = _storage(ctx, storage)
    with _errors(ctx, url):
        if format.strip().lower() not in _formats():
            raise ConfigError(f"--format must be one of {', '.join(_formats())}, got {format!r}")
        v = _workflow().Registry(url).get(name, version)
        _print(_workflow().render_configuration(v, format, prefix=prefix))


@app.command()
def check(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The configuration's name.")],
    data: Annotated[
        str | None,
        typer.Option("--data", help="module:function returning (X, y) (default: the data "
                                    "loader its study recorded)."),
    ] = None,
    version: Annotated[
        int | None, typer.Option("--version", min=1, help="This version (default: current).")
    ] = None,
    storage: StorageOption = None,
) -> None:
    """Whether the data today is what the configuration was tuned on; exit 1 to re-tune."""
    url = _storage(ctx, storage)
    with _errors(ctx, url):
        reg = _workflow().Registry(url)
        v = reg.get(name, version)
        if data is not None:
            fp = _workflow().load_data(data, Path.cwd())
        else:
            if v.study is None:
                raise ConfigError("give --data module:function")
            found = _workflow().recorded_function(_open(v.study, url), "data")
            if found is None:
                raise ConfigError(f"study {v.study!r} recorded no data loader: give --data "
                                  "module:function")
            fp = _workflow().load_data(found[0], found[1])
        result = reg.check(name, fp, version)
        lines = [f"{name} v{v.version}: {result.message}"]
        lines += [f"  {s.describe()}" for s in result.shifts[:5]]
        if result.retune:
            lines.append(f"  re-tune with: dialed retune {name}")
        _print("\n".join(lines))
        if result.retune:
            raise typer.Exit(EXIT_RETUNE)


@app.command("retune")
def retune_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The configuration's name.")],
    study: Annotated[
        str | None, typer.Option("--study", help="The new study's name (default OLD-retune-K).")
    ] = None,
    top: Annotated[
        int, typer.Option("--top", min=0, help="Old configurations to enqueue first.")
    ] = 5,
    n_trials: Annotated[
        int | None,
        typer.Option("--n-trials", min=1, help="Search trials when the old study had no "
                                               "stages (default: as many as it had)."),
    ] = None,
    data: Annotated[
        str | None, typer.Option("--data", help="module:function of the new data (X, y).")
    ] = None,
    objective: Annotated[
        str | None,
        typer.Option("--objective", help="module:function (default: the recorded one)."),
    ] = None,
    no_run: Annotated[
        bool, typer.Option("--no-run", help="Only create the study; run it later.")
    ] = False,
    n_jobs: Annotated[int, typer.Option("--n-jobs", min=1, help="Worker processes.")] = 1,
    storage: StorageOption = None,
) -> None:
    """Start a new study warm-started from the old one's top configurations, and run it."""
    url = _storage(ctx, storage)
    with _errors(ctx, url):
        reg = _workflow().Registry(url)
        current = reg.get(name)
        old = _open(current.study or name, url)
        fn = None if no_run else _function(old, objective, "objective", "--objective")
        fp = None
        if data is not None:
            fp = _workflow().load_data(data, Path.cwd())
        else:
            found = _workflow().recorded_function(old, "data")
            if found is not None:
                fp = _workflow().load_data(found[0], found[1])
        new = _workflow().retune(url, name, study=study, top=top, data=fp)
        _note(f"created study {new.name!r}: baseline = {name} v{current.version}, "
              f"{new.attrs.get('workflow:retune', {}).get('warm_start', 0)} configurations of "
              f"{old.name!r} enqueued first")
        if fn is None:
            return
        wf = _workflow().Workflow(new, fn, n_jobs=n_jobs, show_progress=False)
        if wf.plan.stages:
            wf.run()
        else:
            wf.run_baseline()
            searched = sum(1 for t in old.trials if not t.system_attrs.get("role"))
            wf.search(trials=n_trials or max(searched, 1))
        _print(_workflow().summarize(new).to_text())
        if not wf.confirmations():
            _note(f"next: dialed confirm {new.name}, then dialed promote {new.name} --as {name}")
