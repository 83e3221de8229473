"""SmolLM2's inference settings tuned end to end: python examples/llm/run.py

Starts llama.cpp's server on port 8765 (serve.py; one already there is used), then the same
steps as the command line, from a fresh llm.db:

    dialed run examples/llm/study.yaml        # baseline, stages (sampling, length, prompt), confirm
    dialed verify examples/llm/study.yaml     # the suite's locked test part, once
    dialed best examples/llm/study.yaml       # the trade-off rule's recommendation

and prints the workflow's summary, the locked test and the recommended setting with its reason.
Answers are cached in .llm-cache/ beside this file: a second run pays for no call it made
before (delete the folder, or give dialed run --no-cache, to measure afresh).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from serve import serving  # noqa: E402

from dialed.analysis.tradeoff import recommend  # noqa: E402
from dialed.config import bind_to_study, load_study_file, run_study_file  # noqa: E402
from dialed.errors import NoTrialsError  # noqa: E402
from dialed.llm import test as llm_test  # noqa: E402
from dialed.workflow import Workflow  # noqa: E402


def main() -> None:
    cfg = load_study_file(HERE / "study.yaml")
    db = HERE / "llm.db"
    for leftover in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        leftover.unlink(missing_ok=True)
    with serving():
        started = time.perf_counter()
        study = run_study_file(cfg, cfg.storage_url)  # baseline, stages, confirm
        wf = Workflow(study)
        verified = wf.verify(bind_to_study(llm_test, study))  # the locked test part, once
        try:
            chosen = recommend(study)  # the study file's trade-off rule
            choice = f"trial {chosen.trial.number} {chosen.trial.params}: {chosen.reason}"
        except NoTrialsError as exc:  # no setting meets the bounds: say so
            choice = f"none: {exc}"
        elapsed = time.perf_counter() - started
    print(wf.summary().to_text())
    print(f"locked test: accuracy {verified.test.get('accuracy', float('nan')):.3f} "
          f"(validation {verified.validation.get('accuracy', float('nan')):.3f})")
    print(f"recommended: {choice}")
    print(f"the whole study took {elapsed:.0f} s")


if __name__ == "__main__":
    main()
