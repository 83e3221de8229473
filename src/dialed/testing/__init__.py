"""Shared conformance suites that every implementation of an interface passes.

``dialed.testing.samplers`` holds the one every sampler passes.
"""

__all__: list[str] = []
