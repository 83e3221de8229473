"""The ``dialed`` command: run a study file, look at studies and trials, export, delete.

A thin adapter over the public API: every command opens the storage, calls the library and
prints. Errors dialed raises on purpose become one line on stderr and exit code 2 (130 for
Ctrl-C); ``--debug`` shows the traceback as well. Tables go to stdout through Rich; exports
stay plain text for other programs.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console

from dialed.cli import _format as fmt
from dialed.errors import ConfigError, DialedError, NoTrialsError, StudyNotFoundError
from dialed.metrics import MetricSet
from dialed.storage import DEFAULT_URL, Storage, StudyRecord, open_storage, redact_url
from dialed.trial import TrialRecord, TrialState

if TYPE_CHECKING:
    from dialed.analysis.tradeoff import Recommendation, TradeoffRule
    from dialed.study import Study

# The study file's reader (pydantic), the trade-off rules, SQLAlchemy and the study itself
# (its sampler, pruner and history, which bring in NumPy) are imported by the commands that
# use them, so that `dialed --help` starts quickly and the listings read only the storage.

__all__ = ["app", "main"]

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
#: Listings longer than this are written as plain text lines, not laid out as one Rich table.
PLAIN_ROWS = 500

app = typer.Typer(
    name="dialed",
    help="Hyperparameter tuning as a measured experiment: run study files, inspect the results.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

StorageOption = Annotated[
    str | None,
    typer.Option(
        "--storage",
        help=f"Storage URL (default {DEFAULT_URL}; postgresql+psycopg://... for many machines).",
        show_default=False,
    ),
]


StudyArg = Annotated[
    str,
    typer.Argument(metavar="STUDY", help="The study's name, or its study file (STUDY.yaml): "
                                         "the study and the storage it names are used."),
]


@dataclass
class _Options:
    storage: str | None = None
    debug: bool = False


@app.callback()
def _global(
    ctx: typer.Context,
    storage: Annotated[
        str | None,
        typer.Option(
            "--storage",
            envvar="DIALED_STORAGE",
            help=f"Storage URL for every command (default {DEFAULT_URL}).",
            show_default=False,
        ),
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback of an error.")
    ] = False,
) -> None:
    ctx.obj = _Options(storage=storage, debug=debug)


def main() -> None:
    """The console script ``dialed``."""
    app(prog_name="dialed")


# -- helpers ----------------------------------------------------------------------------------
def _options(ctx: typer.Context) -> _Options:
    obj = ctx.find_object(_Options)
    return obj if obj is not None else _Options()


def _storage(ctx: typer.Context, given: str | None) -> str:
    """The command's --storage, else the global one (or DIALED_STORAGE), else the default."""
    return given or _options(ctx).storage or DEFAULT_URL


def _target(ctx: typer.Context, study: str, given: str | None) -> tuple[str, str]:
    """The study's name and storage URL: ``study`` itself with the --storage option, or, when
    ``study`` is a study file, the file's study and storage (a --storage option still wins)."""
    path = Path(study)
    if path.suffix.lower() in (".yaml", ".yml") or path.is_file():
        from dialed.config import load_study_file

        try:
            cfg = load_study_file(path)
        except DialedError as exc:
            _fail(str(exc))
        return cfg.study, given or _options(ctx).storage or cfg.storage_url
    return study, _storage(ctx, given)


def _out() -> Console:
    return Console(highlight=False, soft_wrap=False)


def _note(message: str) -> None:
    """A line for the person at the terminal, on stderr so that stdout stays machine-readable."""
    typer.echo(message, err=True)


def _fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    one_line = " ".join(str(message).split("\n")).strip() or "failed"
    typer.echo(f"error: {one_line}", err=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def _errors(ctx: typer.Context, url: str | None = None) -> Iterator[None]:
    """Turn dialed's errors and Ctrl-C into one line and an exit code."""
    debug = _options(ctx).debug
    try:
        yield
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        _fail("interrupted; finished trials are stored (run again to continue)",
              EXIT_INTERRUPTED)
    except DialedError as exc:
        if debug:
            traceback.print_exc()
        message = str(exc)
        if url is not None:
            message = message.replace("in this storage", f"in {redact_url(url)}")
        _fail(message)


def _write_stdout(text: str) -> None:
    """Write plain text to stdout; a reader that stops early (``| head``) is not an error."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        with contextlib.suppress(OSError, ValueError):  # keep Python's exit flush quiet
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None


def _missing_sqlite_file(url: str) -> Path | None:
    """The database file of an SQLite URL when it does not exist (reading must not create it)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    database = parsed.database
    if not parsed.drivername.startswith("sqlite") or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    path = Path(database)
    return None if path.exists() else path


def _check_file(name: str, url: str) -> None:
    missing = _missing_sqlite_file(url)
    if missing is not None:
        raise StudyNotFoundError(
            f"no study named {name!r} in {redact_url(url)} (the database file {missing} "
            "does not exist; give --storage, or run a study file first)"
        )


def _open(name: str, url: str) -> Study:
    _check_file(name, url)
    from dialed.study import load_study

    return load_study(name, storage=url)


def _open_record(name: str, url: str) -> tuple[Storage, StudyRecord]:
    """The storage and the study's record, without building the study: what a listing needs."""
    _check_file(name, url)
    store = open_storage(url)
    return store, store.get_study(name)


def _parse_state(state: str | None) -> TrialState | None:
    if state is None:
        return None
    try:
        return TrialState(state.strip().lower())
    except ValueError:
        valid = ", ".join(s.value for s in TrialState)
        raise ConfigError(f"--state must be one of {valid}, got {state!r}") from None


# -- commands ---------------------------------------------------------------------------------
@app.command()
def run(
    ctx: typer.Context,
    study_file: Annotated[Path, typer.Argument(metavar="STUDY.yaml", help="The study file.")],
    storage: StorageOption = None,
    n_trials: Annotated[
        int | None,
        typer.Option("--n-trials", min=1, help="Trials to run (replaces budget.trials)."),
    ] = None,
    timeout: Annotated[
        str | None,
        typer.Option("--timeout", help="Stop after this long: seconds, or '90s', '10m', '2h'."),
    ] = None,
    n_jobs: Annotated[
        int | None, typer.Option("--n-jobs", min=1, help="Worker processes (replaces n_jobs).")
    ] = None,
    no_progress: Annotated[
        bool, typer.Option("--no-progress", help="Do not show the progress bar.")
    ] = False,
    executor: Annotated[
        str, typer.Option("--executor", help="local (processes on this machine) or ray (Ray "
                                             "tasks, --n-jobs at once).")
    ] = "local",
    address: Annotated[
        str | None, typer.Option("--address", help="The Ray cluster to run on (with --executor "
                                                   "ray; default: a local Ray runtime).")
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="llm: studies: read and write no cached answer "
                                              "(every call measured: latency studies).")
    ] = False,
) -> None:
    """Run a study file: create (or continue) its study and run trials until the budget ends."""
    if no_cache:  # inherited by the worker processes
        from dialed.llm import NO_CACHE_ENV

        os.environ[NO_CACHE_ENV] = "1"
    with _errors(ctx):
        from dialed.config import load_study_file, parse_duration, run_study_file

        cfg = load_study_file(study_file)
        url = storage or _options(ctx).storage or cfg.storage_url
        seconds = None
        if timeout is not None:
            try:
                seconds = parse_duration(timeout)
            except ValueError as exc:
                raise ConfigError(f"--timeout: {exc}") from None
        try:
            if address is not None and executor != "ray":
                raise ConfigError("--address is the Ray cluster's: give --executor ray too")
            study = run_study_file(cfg, url, show_progress=not no_progress,
                                   n_trials=n_trials, timeout=seconds, n_jobs=n_jobs,
                                   executor=executor, ray_address=address)
        except (DialedError, KeyboardInterrupt):
            raise
        except Exception as exc:  # the objective raised and the file says catch: false
            if _options(ctx).debug:
                traceback.print_exc()
            _fail(
                f"study {cfg.study!r}: the objective raised {type(exc).__name__}: "
                f"{_first_line(exc)} (the trial is stored as failed; set 'catch: true' in "
                f"{study_file} to record failures and go on)"
            )
        _print_run_summary(study, url)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"


def _print_run_summary(study: Study, url: str) -> None:
    out = _out()
    counts: dict[str, int] = {}
    for t in study.trials:
        counts[t.state.value] = counts.get(t.state.value, 0) + 1
    out.print(f"study {study.name!r} in {redact_url(url)}: {fmt.counts_line(counts)}")
    _print_choices(out, study)
    if study.metrics.multi_objective:
        front = study.best_trials
        if front:
            _print_front(out, study, front, None, f"Pareto front of {study.name}")
            return
    else:
        try:
            best = study.best_trial
        except NoTrialsError:
            best = None
        if best is not None:
            out.print(fmt.best_table(study.metrics, best, title=f"best trial of {study.name}"))
            return
    _fail("no trial completed; see the errors with: dialed trials "
          f"{study.name} --state failed", code=1)


def _print_choices(out: Console, study: Study) -> None:
    """What ``auto`` chose for the search and for early stopping, and why (when it chose)."""
    attrs = study.attrs
    for key, label, what in (("sampler_decision", "search", "sampler"),
                             ("pruner_decision", "early stopping", "pruner")):
        decision = attrs.get(key)
        if isinstance(decision, dict) and decision.get(what):
            out.print(f"{label}: {decision[what]} ({decision.get('reason', '')})",
                      highlight=False, markup=False)


@app.command()
def studies(ctx: typer.Context, storage: StorageOption = None) -> None:
    """List the studies in the storage: metrics, trials by state, best value, last activity."""
    url = _storage(ctx, storage)
    with _errors(ctx, url):
        summaries = [] if _missing_sqlite_file(url) else open_storage(url).list_studies()
        if not summaries:
            _note(f"no studies in {redact_url(url)}")
            return
        _out().print(fmt.studies_table(summaries))


@app.command()
def trials(
    ctx: typer.Context,
    study: StudyArg,
    state: Annotated[
        str | None,
        typer.Option("--state", help="Only trials in this state: complete, pruned, failed, "
                                     "running or waiting."),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=0, help="Show the last N trials (0: all).")
    ] = 50,
    storage: StorageOption = None,
) -> None:
    """The trials of a study: state, metrics, params, duration, where pruned, why failed.

    More than 500 rows are written as plain text, one line per trial, as they are formatted."""
    study, url = _target(ctx, study, storage)
    with _errors(ctx, url):
        wanted = _parse_state(state)
        store, record = _open_record(study, url)
        metrics = MetricSet(record.metrics)
        states = None if wanted is None else [wanted]
        if limit:  # the last N through the index: the same cost in a study of any size
            shown = store.last_trials(record.study_id, limit, states=states)
            total = (store.count_trials(record.study_id, states)
                     if len(shown) == limit else len(shown))
        else:
            shown = store.get_trials(record.study_id, states=states)
            total = len(shown)
        caption = None
        if len(shown) < total:
            caption = (f"the last {len(shown)} of {total} trials "
                       "(--limit 0 shows them all)")
        if not shown:
            what = f"{wanted.value} trials" if wanted is not None else "trials"
            _note(f"study {study!r} has no {what}")
            return
        if len(shown) > PLAIN_ROWS:  # one Rich table of 20,000 rows takes seconds to lay out
            out = sys.stdout
            for line in fmt.trials_lines(metrics, shown):
                out.write(line + "\n")
            if caption:
                out.write(caption + "\n")
            return
        _out().print(fmt.trials_table(metrics, shown, caption=caption))


@app.command()
def best(
    ctx: typer.Context,
    study: StudyArg,
    rule: Annotated[
        str | None,
        typer.Option("--rule", help="How to pick one trade-off: 'weighted [name=weight ...]' "
                                    "(weights on objectives normalised over the front) or "
                                    "'best METRIC [name<=bound ...]' (default: the study's "
                                    "recorded rule, else equal weights)."),
    ] = None,
    storage: StorageOption = None,
) -> None:
    """The best trial; for several objectives the Pareto front and the recommended trade-off."""
    study, url = _target(ctx, study, storage)
    with _errors(ctx, url):
        from dialed.analysis.tradeoff import TradeoffRule

        handle = _open(study, url)
        parsed = TradeoffRule.parse(rule, handle.metrics) if rule is not None else None
        if handle.metrics.multi_objective:
            front = handle.best_trials
            if not front:
                raise NoTrialsError(f"study {study!r} has no complete trial yet")
            _print_front(_out(), handle, front, parsed,
                         f"Pareto front of {study} ({len(front)} trials)")
            return
        _out().print(fmt.best_table(handle.metrics, handle.best_trial,
                                    title=f"best trial of {study}"))
        _print_choices(_out(), handle)
        if parsed is not None:
            _print_tradeoff(_out(), handle, parsed, "--rule")


def _print_front(out: Console, study: Study, front: list[TrialRecord],
                 rule: TradeoffRule | None, title: str) -> None:
    """The Pareto front with the recommended trade-off starred, then the recommendation.

    The rule is ``rule`` (from --rule), else the one recorded with the study, else equal
    weights on the normalised objectives.
    """
    from dialed.analysis.tradeoff import TradeoffRule, recorded_rule

    source = "--rule"
    if rule is None:
        rule, source = recorded_rule(study), "recorded with the study"
    if rule is None:
        rule, source = TradeoffRule.parse({"rule": "weighted"}, study.metrics), (
            "default; choose one with --rule or the study file's tradeoff:")
    chosen = _choose(study, rule)
    out.print(fmt.pareto_table(study.metrics, front, title=title, recommended=None if isinstance(
        chosen, str) else chosen.trial.number))
    _print_tradeoff(out, study, rule, source, chosen)


def _choose(study: Study, rule: TradeoffRule) -> Recommendation | str:
    """The recommended trade-off, or why there is none."""
    from dialed.analysis.tradeoff import choose_tradeoff

    try:
        return choose_tradeoff(study.trials, study.metrics, rule)
    except NoTrialsError as exc:
        return str(exc)


def _print_tradeoff(out: Console, study: Study, rule: TradeoffRule, source: str,
                    chosen: Recommendation | str | None = None) -> None:
    chosen = _choose(study, rule) if chosen is None else chosen
    described = f"{rule.describe(study.metrics)} ({source})"
    if isinstance(chosen, str):
        out.print(f"recommended trade-off: none ({described}): {chosen}")
        return
    out.print(fmt.tradeoff_table(study.metrics, chosen.trial, rule=described,
                                 reason=chosen.reason,
                                 title=f"recommended trade-off of {study.name}"))


@app.command()
def export(
    ctx: typer.Context,
    study: StudyArg,
    format: Annotated[
        str, typer.Option("--format", "-f", help="csv (one row per trial), json (everything) "
                                                 "or optuna (an Optuna study, with --to).")
    ] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="With --format optuna: the Optuna storage to "
                                              "write (sqlite:///optuna.db, a journal file).")
    ] = None,
    storage: StorageOption = None,
) -> None:
    """Export a study's trials as CSV or JSON (stdout or a file), or into an Optuna storage."""
    study, url = _target(ctx, study, storage)
    with _errors(ctx, url):
        fmt_name = format.strip().lower()
        if fmt_name not in ("csv", "json", "optuna"):
            raise ConfigError(
                f"--format must be csv or json, or optuna (with --to), got {format!r}")
        handle = _open(study, url)
        if fmt_name == "optuna":
            from dialed.cli._interop import export_to_optuna

            export_to_optuna(ctx, study, url, to)
            return
        text = handle.export(None, format=fmt_name)
        if not text.endswith("\n"):
            text += "\n"
        if output is None:
            _write_stdout(text)
            return
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write {output}: {exc.strerror or exc}") from None
        _note(f"wrote {len(handle.trials)} trials of {study!r} to {output}")


@app.command()
def delete(
    ctx: typer.Context,
    study: StudyArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    storage: StorageOption = None,
) -> None:
    """Delete a study and all its trials (asks first unless --yes)."""
    study, url = _target(ctx, study, storage)
    with _errors(ctx, url):
        handle = _open(study, url)
        n = len(handle.trials)
        if not yes:
            question = f"delete study {study!r} and its {n} trials from {redact_url(url)}?"
            try:
                confirmed = typer.confirm(question, default=False, err=True)
            except typer.Abort:
                confirmed = False
            if not confirmed:
                _fail("not deleted (give --yes to delete without asking)", code=1)
        from dialed.study import delete_study

        delete_study(study, storage=url)
        _note(f"deleted study {study!r} ({n} trials) from {redact_url(url)}")


from dialed.cli import _dashboard as _dashboard  # noqa: E402  (registers dashboard, report)
from dialed.cli import _interop as _interop  # noqa: E402  (registers import-optuna)
from dialed.cli import _ladder as _ladder  # noqa: E402  (registers dialed ladder)
from dialed.cli import _worker as _worker  # noqa: E402  (registers dialed worker)
from dialed.cli import _workflow as _workflow  # noqa: E402  (registers the workflow commands)
