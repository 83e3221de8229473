"""The ``dialed`` command line: ``dialed run STUDY.yaml``, ``studies``, ``trials``, ``best``,
``export`` and ``delete``."""

from __future__ import annotations

from dialed.cli._app import app, main

__all__ = ["app", "main"]
