"""Samplers: what to try next, from a narrow read-only view of history."""

from __future__ import annotations

from dialed.samplers._base import History, Sampler

__all__ = ["History", "Sampler"]
