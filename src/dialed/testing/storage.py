"""The conformance suite every storage passes: the whole contract of ``dialed.storage._base``.

A test module subclasses :class:`StorageSuite` and provides a ``storage`` fixture, a fresh and
empty storage::

    import pytest
    from dialed.storage import MemoryStorage
    from dialed.testing.storage import StorageSuite

    class TestMemoryStorage(StorageSuite):
        @pytest.fixture
        def storage(self):
            storage = MemoryStorage()
            yield storage
            storage.close()

A storage with a ``url`` is also checked across processes: workers started with the ``spawn``
method reopen it from its URL and claim and create trials at the same time.

The checks live in three parts: studies and the space (:mod:`dialed.testing._storage_studies`),
trials (:mod:`dialed.testing._storage_trials`), reads, values and concurrency
(:mod:`dialed.testing._storage_reads`).
"""

from __future__ import annotations

from dialed.testing._storage_reads import _ReadTests
from dialed.testing._storage_studies import _StudyTests
from dialed.testing._storage_trials import _TrialTests

__all__ = ["StorageSuite"]


class StorageSuite(_StudyTests, _TrialTests, _ReadTests):
    """Checks one storage against the contract; subclasses provide the ``storage`` fixture."""
