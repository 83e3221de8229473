"""Adapters to outside libraries, one module each, imported only when named.

``import dialed`` imports none of them, and none of their libraries: each module here imports
its library (an optional extra) when it is itself imported.
"""

from __future__ import annotations

__all__: list[str] = []
