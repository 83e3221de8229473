"""dialed's modules byte-compiled before a benchmark starts fresh interpreters.

``pip install`` compiles a wheel's modules to bytecode, so an installed peer (Optuna) never
pays for compiling its source; dialed runs from ``src/`` here, and where the environment sets
``PYTHONDONTWRITEBYTECODE`` (as this machine's does) every fresh interpreter would compile
each of dialed's modules again: about 0.1-0.2 s of CPU per command that a user's install
does not pay. ``compile_src`` writes the bytecode once (``__pycache__`` is ignored by git),
as ``pip install`` does, so that both libraries start the same way.
"""

from __future__ import annotations

import compileall
from pathlib import Path

__all__ = ["compile_src"]

SRC = Path(__file__).resolve().parents[1] / "src"


def compile_src() -> None:
    """Byte-compile every module under ``src/`` that has no up-to-date bytecode."""
    if not compileall.compile_dir(str(SRC), quiet=1):
        raise RuntimeError(f"byte-compiling {SRC} failed")
