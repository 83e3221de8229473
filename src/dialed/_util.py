"""Small shared helpers with no place of their own: seeds, clocks, the environment record."""

from __future__ import annotations

import functools
import hashlib
import html
import importlib
import math
import os
import platform
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any

__all__ = [
    "check_name",
    "clean_text",
    "derive_seed",
    "derive_uniform",
    "die_with_parent",
    "environment",
    "html_table",
    "install_hint",
    "lazy_attributes",
    "new_seed",
    "now",
    "one_line",
    "preformatted",
    "short_value",
    "worker_id",
]

#: Characters no name may hold: C0 and C1 controls (NUL, tab, newline ...) and lone surrogates.
#: PostgreSQL refuses NUL in text, SQLite's driver cannot encode a surrogate, and a study must
#: move between the two.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def check_name(what: str, name: object, error: type[ValueError] | None = None) -> str:
    """``name`` if it can name something in every storage; else ``error`` (a ConfigError by
    default) naming it."""
    from dialed.errors import ConfigError

    error = ConfigError if error is None else error
    if not isinstance(name, str) or not name.strip():
        raise error(f"{what} must be a non-empty string, got {name!r}")
    bad = _UNPRINTABLE.search(name)
    if bad is not None:
        raise error(
            f"{what} {name!r} holds the unprintable character U+{ord(bad.group()):04X}: "
            "names are printable text (no control characters or lone surrogates)"
        )
    return name


def clean_text(text: str) -> str:
    """Free text (an error, a note) as every storage can hold it: NUL written as ``\\x00``
    and a lone surrogate as its ``\\udXXX`` escape; any other text unchanged."""
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def lazy_attributes(
    module: str, namespace: MutableMapping[str, Any], table: Mapping[str, tuple[str, str | None]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module's ``__getattr__`` and ``__dir__`` (PEP 562). ``__getattr__`` imports
    ``table[name]``, a (module, attribute) pair (attribute ``None``: the module itself), when
    the name is first asked for, and keeps it in ``namespace`` so that the next lookup is a
    plain one; ``__dir__`` lists the names not yet imported too (a REPL completes them)."""

    def __getattr__(name: str) -> Any:
        found = table.get(name)
        if found is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        value: Any = importlib.import_module(found[0])
        if found[1] is not None:
            value = getattr(value, found[1])
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *table})

    return __getattr__, __dir__


def install_hint(extra: str) -> str:
    """How to install an extra: dialed is installed from its checkout, not a package index."""
    return f"pip install -e '.[{extra}]' in the dialed checkout"


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (the type alone when there is none): how a stored
    trial, a failed step or a refused file states an exception. A broken ``__str__`` is named,
    not raised."""
    try:
        text = str(exc)
    except BaseException as inner:
        text = f"<its message could not be read: {type(inner).__name__}>"
    lines = text.strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def now() -> float:
    """UNIX seconds, the one clock every record uses."""
    return time.time()


def new_seed() -> int:
    """A fresh seed for a study that was given none (it is recorded, so runs stay repeatable)."""
    return secrets.randbits(31)


def derive_seed(*parts: int | str) -> int:
    """A seed in [0, 2**31) that depends only on ``parts`` (the study seed, the trial number, a
    salt): a keyed hash (BLAKE2b, its own personalisation, so it never equals a
    :func:`derive_uniform` of the same parts), each part by its ``repr`` (5 is not "5").

    Once per trial at least: 2 us against 17 us for numpy's ``SeedSequence``, which also
    imported ``numpy.random`` into a run that draws nothing from it
    (benchmarks/results/overhead-engine.md)."""
    key = "\x1f".join(repr(p) for p in parts).encode()
    digest = hashlib.blake2b(key, digest_size=4, person=b"dialed.seed").digest()
    return int.from_bytes(digest, "little") & 0x7FFFFFFF


def derive_uniform(*parts: int | str) -> float:
    """A number in [0, 1) that depends only on ``parts``: a keyed hash (BLAKE2b, 53 bits).

    One draw for one use (a parameter of a trial) at a fraction of the cost of seeding a
    generator for it (2 us against 32 us here: benchmarks/results/overhead.md)."""
    key = "\x1f".join(str(p) for p in parts).encode()
    bits = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little") >> 11
    return bits / 9007199254740992.0  # 2**53


def die_with_parent(parent: int, signum: int = signal.SIGKILL) -> None:
    """End this process when the process ``parent`` ends (even by SIGKILL): on Linux the kernel
    sends it ``signum`` (``prctl(PR_SET_PDEATHSIG)``, ``man 2 prctl``); elsewhere a daemon
    thread watches for the parent to go. A parent already gone ends this process at once."""
    armed = False
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    if not armed:
        threading.Thread(target=_watch_parent, args=(parent,), name="dialed-parent-watch",
                         daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


#: prctl(2) option: the signal the kernel sends this process when its parent dies.
_PR_SET_PDEATHSIG = 1


def worker_id() -> str:
    """``host:pid``: who runs a trial, and enough to tell whether that process is still alive."""
    return f"{_hostname()}:{os.getpid()}"


@functools.lru_cache(maxsize=1)
def _hostname() -> str:
    return socket.gethostname()  # a system call: once per process, not once per trial


@functools.lru_cache(maxsize=1)
def _static_environment() -> dict[str, Any]:
    import numpy as np

    from dialed._version import __version__

    env: dict[str, Any] = {
        "dialed": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "host": socket.gethostname(),
        "platform": sys.platform,
    }
    commit = _git_commit()
    if commit:
        env["git_commit"] = commit
    return env


def environment() -> dict[str, Any]:
    """The versions, host and git commit a trial ran with (computed once per process)."""
    return dict(_static_environment())


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=False, cwd=os.getcwd(),
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None


def short_value(v: Any, missing: str = "-") -> str:
    """A metric or parameter value for a listing: floats to 6 significant digits, None as
    ``missing`` (the CLI's tables and the dashboard's pages print values alike)."""
    if v is None:
        return missing
    if isinstance(v, float):
        return f"{v:.6g}" if math.isfinite(v) else str(v)
    return str(v)


# -- HTML for Jupyter (``_repr_html_``): every string escaped, so a name shows as written -------

_STYLE = "text-align:left;vertical-align:top;padding:2px 10px 2px 0"


def html_table(caption: str, rows: Sequence[tuple[str, str]]) -> str:
    """``<table>`` with ``caption`` above and one ``label | value`` row per pair."""
    body = "".join(
        f'<tr><th style="{_STYLE}">{html.escape(label)}</th>'
        f'<td style="{_STYLE}">{html.escape(value)}</td></tr>'
        for label, value in rows
    )
    return (f'<table class="dialed"><caption style="text-align:left;font-weight:bold">'
            f"{html.escape(caption)}</caption>{body}</table>")


def preformatted(caption: str, text: str) -> str:
    """``text`` (a table drawn in characters) in a ``<pre>`` under a bold ``caption``."""
    return (f'<div class="dialed"><b>{html.escape(caption)}</b>'
            f'<pre style="line-height:1.3">{html.escape(text)}</pre></div>')
