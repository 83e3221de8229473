"""Import the functions a study file names (``module:function``), with errors naming the key."""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dialed.errors import ConfigError

__all__ = ["check_spec", "import_function"]

_SPEC = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*:\s*([A-Za-z_][\w.]*)\s*$")


def check_spec(spec: Any, what: str) -> tuple[str, str]:
    """``(module, attribute path)`` of a ``module:function`` text; ConfigError naming ``what``."""
    m = _SPEC.match(spec) if isinstance(spec, str) else None
    if m is None:
        raise ConfigError(f"{what} {spec!r} is not of the form 'module:function' (for example "
                          "'evaluate:test' for def test(params, seed) in evaluate.py)")
    return m.group(1), m.group(2)


def import_function(spec: str, base_dir: str | Path | None, what: str) -> Callable[..., Any]:
    """Import ``module:function``, looking in ``base_dir`` and the current directory first."""
    module_name, attr_path = check_spec(spec, what)
    folders = [str(Path.cwd())]
    if base_dir is not None:
        folders.append(str(Path(base_dir).resolve()))
    for folder in folders:  # base_dir ends up first, then the current directory
        if folder in sys.path:
            sys.path.remove(folder)
        sys.path.insert(0, folder)
    importlib.invalidate_caches()
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        text = str(exc).strip().splitlines()
        raise ConfigError(
            f"{what} {spec!r}: cannot import module {module_name!r} ({type(exc).__name__}: "
            f"{text[0] if text else ''}); looked in {base_dir or 'the current directory'} first"
        ) from None
    target: Any = module
    for part in attr_path.split("."):
        if not hasattr(target, part):
            raise ConfigError(f"{what} {spec!r}: module {module_name!r} has no function "
                              f"{attr_path!r}")
        target = getattr(target, part)
    if not callable(target):
        raise ConfigError(f"{what} {spec!r}: {attr_path!r} is a {type(target).__name__}, "
                          "not a function")
    return target  # type: ignore[no-any-return]
