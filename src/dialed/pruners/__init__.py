"""Pruners: whether a running trial continues, from its intermediate reports and its peers'."""

from __future__ import annotations

from dialed.pruners._base import NopPruner, Pruner

__all__ = ["NopPruner", "Pruner"]
