"""The declarative study file: what to tune, how to measure it, and how long to search.

A study file is YAML read into :class:`StudyFile`, pydantic models that forbid unknown keys,
so ``trails: 40`` is an error naming the key and the valid ones. Every problem the file can
have becomes one :class:`~dialed.errors.ConfigError` line naming the file, the field path and
what would be valid::

    study: svc-digits                      # required: the study's name in the storage
    storage: sqlite:///dialed.db           # optional (the command line's --storage wins)
    objective: quickstart:objective        # required: module:function, beside the file
    metrics: {val_loss: minimize, val_acc: track}
    space:
      C: {type: float, low: 0.01, high: 1000, log: true, family: regularization}
    budget: {trials: 40, timeout: 10m}     # at least one of them
    strategy: random                       # or {sampler: ..., pruner: ..., options: {...}}
    resource: {name: epochs, min: 1, max: 81, reduction_factor: 3}   # for early stopping
    scale: {width: 64}                     # the study's size on a ladder (trial.scale)
    seed: 0
    n_jobs: 2
    catch: true                            # a failing trial is recorded; the study goes on
    max_retries: 0
    tradeoff: {rule: best, metric: val_acc, bounds: {latency_ms: "<= 20"}}   # several objectives:
                                           # how to pick one (or {rule: weighted, weights: ...})

The tuning workflow (``dialed.workflow``) adds optional keys; with any of them, ``dialed run``
runs the workflow: the baseline first, then the stages (or one search of the budget), then
confirm::

    baseline: {C: 1.0, gamma: 0.001}       # a whole configuration, evaluated `repeats` times
    targets: ["val_acc >= 0.97"]           # goals the summaries measure distance to
    repeats: 5                             # seeds per evaluation (default 3)
    stages:                                # one family (or a named group) at a time
      - {families: optimizer, trials: 20}
      - {name: model, families: [regularization, architecture], trials: 20}
    confirm: {top: 3, repeats: 5}          # re-evaluate the top configurations
    test: evaluate:test                    # test(params, seed) -> metrics, run by dialed verify
    data: evaluate:data                    # data() -> (X, y), fingerprinted into the study

An ``llm:`` section (``dialed.llm``) tunes an OpenAI-compatible endpoint's inference settings
on an evaluation suite; ``objective`` and ``test`` then default to ``dialed.llm:objective`` and
``dialed.llm:test``::

    llm: {base_url: "http://127.0.0.1:8080/v1", model: smollm2, suite: suite.jsonl,
          samples: 3, scorer: numeric, prices: {smollm2: {input: 0.1, output: 0.4}}}

New top-level keys are new fields of :class:`StudyFile`; the error condensing and the
"valid keys" lists follow the models without further changes.
"""

from dialed.config._file import (
    Budget,
    Confirm,
    Stage,
    Strategy,
    StudyFile,
    load_study_file,
    parse_duration,
)
from dialed.config._objective import (
    BIND_ATTR,
    STUDY_FILE_ATTR,
    bind_to_study,
    import_objective,
    recorded_objective,
)
from dialed.config._run import run_study_file

__all__ = [
    "BIND_ATTR",
    "STUDY_FILE_ATTR",
    "Budget",
    "Confirm",
    "Stage",
    "Strategy",
    "StudyFile",
    "bind_to_study",
    "import_objective",
    "load_study_file",
    "parse_duration",
    "recorded_objective",
    "run_study_file",
]
