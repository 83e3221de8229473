"""The storage contract's studies and their space (part of
:class:`~dialed.testing.storage.StorageSuite`)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from dialed.errors import (
    DuplicateStudyError,
    SpaceError,
    StorageError,
    StudyNotFoundError,
)
from dialed.storage import Storage
from dialed.testing._storage_base import (
    COMPLETE,
    PRUNED,
    RUNNING,
    _SuiteBase,
)


class _StudyTests(_SuiteBase):
    """The storage contract's studies and their space."""

    # -- studies ---------------------------------------------------------------------------
    def test_create_and_get_study(self, storage: Storage) -> None:
        before = time.time()
        made = storage.create_study(
            "s", metrics={"loss": "minimize", "acc": "track"}, seed=42, attrs={"note": [1, "a"]}
        )
        assert made.name == "s" and made.seed == 42
        assert dict(made.metrics) == {"loss": "minimize", "acc": "track"}
        assert list(made.metrics) == ["loss", "acc"]
        assert dict(made.attrs) == {"note": [1, "a"]}
        assert before - 1 <= made.created_at <= time.time() + 1
        got = storage.get_study("s")
        assert got == made
        assert list(got.metrics) == ["loss", "acc"]
        assert storage.get_study_attrs(made.study_id) == {"note": [1, "a"]}

    def test_duplicate_name_is_refused_and_keeps_the_first(self, storage: Storage) -> None:
        first = self.study(storage, "s", seed=1)
        with pytest.raises(DuplicateStudyError, match="'s' already exists"):
            storage.create_study("s", metrics={"acc": "maximize"}, seed=2)
        assert storage.get_study("s") == first
        assert len(storage.list_studies()) == 1

    def test_unknown_name_lists_known_names(self, storage: Storage) -> None:
        with pytest.raises(StudyNotFoundError, match="studies: none"):
            storage.get_study("nope")
        self.study(storage, "beta")
        self.study(storage, "alpha")
        with pytest.raises(StudyNotFoundError, match="studies: alpha, beta") as info:
            storage.get_study("nope")
        assert isinstance(info.value, KeyError) and "'nope'" in str(info.value)
        with pytest.raises(StudyNotFoundError, match="alpha, beta"):
            storage.delete_study("nope")

    def test_unknown_study_id_is_refused_everywhere(self, storage: Storage) -> None:
        sid = self.study(storage).study_id + 1000
        calls: list[Callable[[], object]] = [
            lambda: storage.set_study_attr(sid, "k", 1),
            lambda: storage.set_study_attr_if_absent(sid, "k", 1),
            lambda: storage.get_study_attrs(sid),
            lambda: storage.register_params(sid, {"x": {"type": "int", "low": 0, "high": 1}}),
            lambda: storage.get_space(sid),
            lambda: storage.create_trial(sid),
            lambda: storage.enqueue_trials(sid, [{}]),
            lambda: storage.claim_trial(sid, worker="w"),
            lambda: storage.get_trials(sid),
            lambda: storage.count_trials(sid),
            lambda: storage.best_trial(sid, "loss", "minimize"),
            lambda: storage.get_trial_by_number(sid, 0),
        ]
        for call in calls:
            with pytest.raises(StudyNotFoundError, match=f"no study with id {sid}"):
                call()

    def test_list_studies(self, storage: Storage) -> None:
        assert storage.list_studies() == []
        a = self.study(storage, "b-first")
        b = self.study(storage, "a-second", metrics={"acc": "maximize", "loss": "minimize"})
        c = self.study(storage, "c-tracked", metrics={"t": "track"})
        self.finished(storage, a.study_id, loss=3.0)
        self.finished(storage, a.study_id, loss=1.5)
        self.finished(storage, a.study_id, PRUNED, loss=0.5)  # only complete trials are best
        last = storage.create_trial(a.study_id, worker="w")
        storage.enqueue_trials(a.study_id, [{}])
        self.finished(storage, b.study_id, acc=0.5, loss=9.0)
        self.finished(storage, b.study_id, acc=0.75, loss=1.0)
        self.finished(storage, c.study_id, t=1.0)
        rows = storage.list_studies()
        assert [r.name for r in rows] == ["b-first", "a-second", "c-tracked"]
        assert [r.study_id for r in rows] == [a.study_id, b.study_id, c.study_id]
        ra, rb, rc = rows
        assert dict(ra.counts) == {"complete": 2, "pruned": 1, "running": 1, "waiting": 1}
        assert ra.n_trials == 5
        assert ra.best_value == 1.5
        assert ra.last_activity is not None and last.started_at is not None
        assert ra.last_activity >= last.started_at
        assert ra.created_at == a.created_at and dict(ra.metrics) == dict(a.metrics)
        assert rb.best_value == 0.75  # the first objective, maximized
        assert dict(rb.counts) == {"complete": 2}
        assert rc.best_value is None  # no objective
        empty = self.study(storage, "empty")
        row = storage.list_studies()[-1]
        assert row.study_id == empty.study_id
        assert (dict(row.counts), row.n_trials, row.last_activity, row.best_value) == (
            {}, 0, None, None,
        )

    def test_delete_study_removes_its_trials_only(self, storage: Storage) -> None:
        doomed = self.study(storage, "doomed")
        kept = self.study(storage, "kept")
        storage.set_study_attr(doomed.study_id, "k", 1)
        storage.register_params(doomed.study_id, {"x": {"type": "int", "low": 0, "high": 3}})
        gone = storage.create_trial(doomed.study_id, worker="w", params={"x": 1})
        storage.report(gone.trial_id, 0, 1.0)
        storage.finish_trial(gone.trial_id, COMPLETE, metrics={"loss": 1.0})
        storage.enqueue_trials(doomed.study_id, [{"x": 2}])
        other = self.finished(storage, kept.study_id, loss=2.0)
        storage.delete_study("doomed")
        with pytest.raises(StudyNotFoundError):
            storage.get_study("doomed")
        with pytest.raises(StorageError):
            storage.get_trial(gone.trial_id)
        assert [s.name for s in storage.list_studies()] == ["kept"]
        assert storage.get_trial(other.trial_id) == other
        again = self.study(storage, "doomed")  # the name is free again, numbering restarts
        assert storage.get_study_attrs(again.study_id) == {}
        assert storage.get_space(again.study_id) == {}
        assert storage.create_trial(again.study_id).number == 0
        assert storage.best_trial(again.study_id, "loss", "minimize") is None

    def test_study_attrs(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        storage.set_study_attr(sid, "a", {"x": [1, 2.5, None, True]})
        storage.set_study_attr(sid, "b", "text")
        storage.set_study_attr(sid, "b", 3)
        assert storage.get_study_attrs(sid) == {"a": {"x": [1, 2.5, None, True]}, "b": 3}
        assert storage.set_study_attr_if_absent(sid, "c", 1) is True
        assert storage.set_study_attr_if_absent(sid, "c", 2) is False
        assert storage.set_study_attr_if_absent(sid, "a", 2) is False
        attrs = storage.get_study_attrs(sid)
        assert attrs["c"] == 1 and attrs["a"] == {"x": [1, 2.5, None, True]}
        attrs["a"]["x"].append("mutated")  # a copy, not the stored value
        assert storage.get_study_attrs(sid)["a"] == {"x": [1, 2.5, None, True]}
        assert dict(storage.get_study("study").attrs) == storage.get_study_attrs(sid)

    def test_non_json_values_are_refused(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        with pytest.raises(StorageError, match="JSON"):
            storage.set_study_attr(sid, "k", object())
        with pytest.raises(StorageError, match="JSON"):
            storage.set_study_attr_if_absent(sid, "k", {1, 2})
        with pytest.raises(StorageError, match="JSON"):
            storage.create_study("other", metrics={}, seed=1, attrs={"k": object()})
        with pytest.raises(StorageError, match="JSON"):
            storage.create_trial(sid, params={"x": object()})
        with pytest.raises(StorageError, match="JSON"):
            storage.enqueue_trials(sid, [{"x": object()}])
        rec = storage.create_trial(sid, worker="w")
        with pytest.raises(StorageError, match="JSON"):
            storage.update_trial(rec.trial_id, user_attrs={"k": object()})
        with pytest.raises(StorageError, match="JSON"):
            storage.finish_trial(rec.trial_id, COMPLETE, system_attrs={"k": object()})
        assert storage.get_study_attrs(sid) == {}
        assert storage.count_trials(sid) == 1
        assert storage.get_trial(rec.trial_id).state == RUNNING
        assert [s.name for s in storage.list_studies()] == ["study"]

    # -- the space -------------------------------------------------------------------------
    def test_register_params_grows_in_order(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        assert storage.get_space(sid) == {}
        lr = {"type": "float", "low": 1e-5, "high": 0.1, "log": True}
        space = storage.register_params(sid, {"lr": lr, "depth": {"type": "int", "low": 1,
                                                                  "high": 8}})
        assert list(space) == ["lr", "depth"]
        space = storage.register_params(
            sid, {"act": {"type": "categorical", "choices": ["relu", "gelu"]}, "lr": lr}
        )
        assert list(space) == ["lr", "depth", "act"]
        assert space["act"] == {"type": "categorical", "choices": ["relu", "gelu"]}
        assert space["lr"] == lr
        assert storage.get_space(sid) == space and list(storage.get_space(sid)) == list(space)
        assert storage.register_params(sid, {}) == space

    def test_register_params_fills_in_a_family(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        storage.register_params(sid, {"a": {"type": "int", "low": 0, "high": 3},
                                      "b": {"type": "int", "low": 0, "high": 3}})
        space = storage.register_params(
            sid, {"a": {"type": "int", "low": 0, "high": 3, "family": "architecture"}}
        )
        assert list(space) == ["a", "b"]
        assert space["a"]["family"] == "architecture"
        # registering it again without the family keeps the family
        space = storage.register_params(sid, {"a": {"type": "int", "low": 0, "high": 3}})
        assert storage.get_space(sid)["a"]["family"] == "architecture"

    def test_register_params_conflict_changes_nothing(self, storage: Storage) -> None:
        sid = self.study(storage).study_id
        before = storage.register_params(sid, {"x": {"type": "float", "low": 0.0, "high": 1.0}})
        with pytest.raises(SpaceError, match="'x'"):
            storage.register_params(
                sid,
                {"new": {"type": "int", "low": 0, "high": 2},
                 "x": {"type": "float", "low": 0.0, "high": 2.0}},
            )
        with pytest.raises(SpaceError):
            storage.register_params(sid, {"x": {"type": "int", "low": 0, "high": 1}})
        with pytest.raises(SpaceError):
            storage.register_params(sid, {"bad": {"type": "float", "low": 2.0, "high": 1.0}})
        assert storage.get_space(sid) == before
