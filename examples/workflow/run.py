"""The tuning workflow end to end: python examples/workflow/run.py (about two minutes on two
cores). The same steps on the command line:

    dialed run study.yaml                  # baseline, three stages, confirm
    dialed verify digits-workflow          # the locked test, once
    dialed promote digits-workflow --as digits-hgb --note "first tuned version"
    dialed summary digits-workflow

It starts from a fresh workflow.db in this folder and prints the summary, the registry's
history of the promoted configuration, and whether today's data is what it was tuned on.
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
    db = HERE / "workflow.db"
    for leftover in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        leftover.unlink(missing_ok=True)
    url = f"sqlite:///{db}"
    started = time.perf_counter()

    cfg = load_study_file(HERE / "study.yaml")
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
