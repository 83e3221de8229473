"""A study file's ``llm:`` section run by ``dialed run``: the objective and the locked test.

A study file with ``llm:`` and no ``objective:`` names :data:`objective` (``dialed.llm:objective``)
and, without ``test:``, :data:`test` (``dialed.llm:test``). Both are placeholders *bound to the
study* (:data:`dialed.config.BIND_ATTR`): ``dialed run``, ``dialed worker``, ``dialed confirm``
and ``dialed verify`` call ``bind(study)``, which reads the ``llm:`` section that ``dialed run``
recorded in the study, checks it against the endpoint, and returns the real function. The
budget's ledger is ``<cache>/budget-<study>.json``: a study's spending adds up across runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dialed.config import STUDY_FILE_ATTR
from dialed.errors import ConfigError
from dialed.llm._build import from_llm_section
from dialed.llm._cache import default_cache_dir
from dialed.study import Study

__all__ = ["StudyFileFunction", "objective", "test"]


class StudyFileFunction:
    """``dialed.llm:objective`` / ``dialed.llm:test``: resolved against a study's ``llm:``."""

    def __init__(self, role: str) -> None:
        self.role = role

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise ConfigError(f"dialed.llm:{self.role} runs a study file's llm: section; start it "
                          "with dialed run STUDY.yaml (or build one with "
                          "dialed.llm.endpoint_objective)")

    def dialed_bind_study(self, study: Study) -> Callable[..., Any]:
        recorded = study.attrs.get(STUDY_FILE_ATTR)
        section = recorded.get("llm") if isinstance(recorded, Mapping) else None
        if section is None:
            raise ConfigError(f"study {study.name!r} has no llm: section recorded (run its "
                              "study file with dialed run first)")
        base_dir = Path(str(recorded.get("base_dir") or "."))  # type: ignore[union-attr]
        cache = section.get("cache", True) if isinstance(section, Mapping) else True
        folder = default_cache_dir() if cache is True or cache is False or cache is None \
            else base_dir / str(cache)
        ledger = folder / f"budget-{_safe(study.name)}.json"
        space = recorded.get("space")  # type: ignore[union-attr]
        built = from_llm_section(section, base_dir, space=space if isinstance(space, Mapping)
                                 else None, ledger=ledger, check=True)
        if self.role == "test":
            return built.test_function()
        from dialed.workflow import record_data  # the suite's validation part, fingerprinted

        record_data(study, built.suite.fingerprint())
        return built


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


#: The objective of a study file's ``llm:`` section.
objective = StudyFileFunction("objective")
#: The locked test of a study file's ``llm:`` section: the suite's test part.
test = StudyFileFunction("test")
