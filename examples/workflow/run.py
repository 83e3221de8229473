"""The tuning workflow end to end: python examples/workflow/run.py (43 s of wall time, 77
CPU-seconds, on an idle two-core machine). The same steps on the command line, from any folder:

    dialed run examples/workflow/study.yaml        # baseline, three stages, confirm
    dialed verify examples/workflow/study.yaml     # the locked test, once
    dialed promote examples/workflow/study.yaml --as digits-hgb --note "first tuned version"
    dialed summary examples/workflow/study.yaml

Both write the study file's storage, workflow.db in this folder (a relative SQLite path in a
study file is beside the file). It starts from a fresh workflow.db and prints the summary, the
registry's history of the promoted configuration, and whether today's data is what it was tuned
on.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import dialed  # noqa: E402
from dialed.config import load_study_file, run_study_file  # noqa: E402
from dialed.workflow import Workflow, registry  # noqa: E402


def main() -> None:
    cfg = load_study_file(HERE / "study.yaml")
    url = cfg.storage_url  # sqlite:///.../examples/workflow/workflow.db: what the CLI opens
    db = HERE / "workflow.db"
    for leftover in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        leftover.unlink(missing_ok=True)
    started = time.perf_counter()

    study = run_study_file(cfg, url)  # baseline, stages, confirm (the file's plan)

    import digits  # the test function lives beside the study file

    wf = Workflow(study)
    wf.verify(digits.test)  # once; a second call is refused unless force=True
    configs = registry(url)
    configs.promote(study, name="digits-hgb", note="first tuned version")
    check = configs.check("digits-hgb", digits.data())
    elapsed = time.perf_counter() - started

    print(wf.summary().to_text())
    for version in configs.versions("digits-hgb"):
        print(f"registry: digits-hgb v{version.version} from {version.study} "
              f"({version.source}); params {version.params}")
    print(f"data check: {check.message}")
    print(f"the whole workflow took {elapsed:.0f} s (dialed {dialed.__version__})")


if __name__ == "__main__":
    main()
