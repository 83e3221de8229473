"""MLflow: a run per trial, nested under one run for the study (the ``mlflow`` extra).

>>> from dialed.integrations.mlflow import MLflowCallback
>>> study.optimize(objective, n_trials=20,  # doctest: +SKIP
...                callbacks=[MLflowCallback("sqlite:///mlflow.db")])

Each finished trial becomes an MLflow run with the trial's parameters, its metrics, its
intermediate curve as the steps of one metric, and tags for its state, seed, the families of
its parameters and its workflow role (``search`` for a sampler's trial; ``baseline``,
``stage`` or ``confirm`` for a workflow's evaluations). The runs are children of the study's
run (found by its tags, created on the first trial), which carries the best value so far as
a metric stepped by trial number. Only the client API is used: no server, no global active
run, so the callback works the same in worker processes (``n_jobs > 1``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dialed._util import install_hint, now
from dialed.errors import ConfigError, NoTrialsError
from dialed.trial import TrialRecord, TrialState

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from dialed.study import Study

__all__ = ["MLflowCallback"]

#: Tag keys every run this callback writes carries.
STUDY_TAG = "dialed.study"
KIND_TAG = "dialed.kind"

_STATUS = {
    TrialState.COMPLETE: "FINISHED",
    TrialState.PRUNED: "KILLED",
    TrialState.FAILED: "FAILED",
}
# MLflow's limits per log_batch call and per value
_MAX_PARAMS, _MAX_METRICS = 100, 1000
_MAX_PARAM_CHARS, _MAX_TAG_CHARS = 6000, 8000


class MLflowCallback:
    """A study callback (``study.optimize(..., callbacks=[MLflowCallback()])``) that records
    each finished trial as an MLflow run nested under the study's run.

    ``tracking_uri``: where MLflow stores runs (``sqlite:///mlflow.db``, ``file:///tmp/mlruns``
    (MLflow 3 asks for ``MLFLOW_ALLOW_FILE_STORE=true`` to write a file store), a server URL);
    None uses MLflow's own default (``MLFLOW_TRACKING_URI``). ``experiment``: the MLflow
    experiment's name (created when missing; the study's name when None). ``parent_run_id``:
    nest the trials under this run instead of one found or created for the study (the active
    run of a ``with mlflow.start_run():`` block, say). ``curve``: the metric key that holds
    the intermediate curve. ``tags``: extra tags on every run.
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment: str | None = None,
        *,
        parent_run_id: str | None = None,
        curve: str = "intermediate",
        tags: Mapping[str, str] | None = None,
    ) -> None:
        if experiment is not None and (not isinstance(experiment, str) or not experiment):
            raise ConfigError(f"experiment must be a non-empty name or None, got {experiment!r}")
        if not isinstance(curve, str) or not curve:
            raise ConfigError(f"curve must be a non-empty metric key, got {curve!r}")
        _require_mlflow()
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.parent_run_id = parent_run_id
        self.curve = curve
        self.tags = {str(k): str(v) for k, v in (tags or {}).items()}
        self._client: MlflowClient | None = None
        self._parents: dict[tuple[str, str], tuple[str, str]] = {}  # (uri, study) -> ids

    def __getstate__(self) -> dict[str, Any]:  # sent to worker processes without its client
        return {**self.__dict__, "_client": None}

    # -- the callback ------------------------------------------------------------------------
    def __call__(self, study: Study, record: TrialRecord) -> None:
        from mlflow.entities import Metric, Param, RunTag
        from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

        client = self.client
        experiment_id, parent = self._parent(study)
        start = record.started_at if record.started_at is not None else record.created_at
        end = record.finished_at if record.finished_at is not None else now()
        tags = {**self.tags, **trial_tags(study, record), MLFLOW_PARENT_RUN_ID: parent,
                MLFLOW_RUN_NAME: f"trial-{record.number}"}
        run = client.create_run(experiment_id, start_time=_ms(start or end),
                                tags=_clip_tags(tags), run_name=f"trial-{record.number}")
        run_id = run.info.run_id
        stamp = _ms(end)
        metrics = [Metric(k, float(v), stamp, record.last_step or 0)
                   for k, v in record.metrics.items()]
        metrics += [Metric(self.curve, float(v), stamp, int(step))
                    for step, v in sorted(record.intermediate.items())]
        params = [Param(k, _param_text(v)) for k, v in record.params.items()]
        for m, p in _batches(metrics, params):
            client.log_batch(run_id, metrics=m, params=p)
        client.set_terminated(run_id, status=_STATUS.get(record.state, "FINISHED"),
                              end_time=stamp)
        self._update_parent(study, record, parent, stamp, RunTag)

    def log_study(self, study: Study) -> int:
        """Record every finished trial of ``study`` that has no run yet (a workflow's trials,
        or a study run without this callback); returns how many runs were written."""
        experiment_id, _ = self._parent(study)
        query = f"tags.`{STUDY_TAG}` = '{_quote(study.name)}' and tags.`{KIND_TAG}` = 'trial'"
        logged = {int(r.data.tags["dialed.trial"]) for r in self.client.search_runs(
            [experiment_id], filter_string=query, max_results=50000)}
        todo = [t for t in study.trials if t.state.finished and t.number not in logged]
        for record in todo:
            self(study, record)
        return len(todo)

    @property
    def client(self) -> MlflowClient:
        """The MLflow client this callback writes with (made on first use)."""
        if self._client is None:
            from mlflow import MlflowClient

            self._client = MlflowClient(tracking_uri=self.tracking_uri)
        return self._client

    def study_run_id(self, study: Study) -> str:
        """The id of the study's run (found by its tags, or created)."""
        return self._parent(study)[1]

    # -- the study's run -----------------------------------------------------------------------
    def _parent(self, study: Study) -> tuple[str, str]:
        key = (str(self.client.tracking_uri), study.name)
        found = self._parents.get(key)
        if found is not None:
            return found
        experiment_id = self._experiment_id(self.experiment or study.name)
        if self.parent_run_id is not None:
            found = (experiment_id, self.parent_run_id)
        else:
            found = (experiment_id, self._find_or_create_study_run(study, experiment_id))
        self._parents[key] = found
        return found

    def _experiment_id(self, name: str) -> str:
        from mlflow.exceptions import MlflowException

        client = self.client
        experiment = client.get_experiment_by_name(name)
        if experiment is not None:
            return str(experiment.experiment_id)
        try:
            return str(client.create_experiment(name))
        except MlflowException:  # another process created it meanwhile
            again = client.get_experiment_by_name(name)
            if again is None:
                raise
            return str(again.experiment_id)

    def _study_runs(self, study: Study, experiment_id: str) -> list[Any]:
        query = (f"tags.`{STUDY_TAG}` = '{_quote(study.name)}' and "
                 f"tags.`{KIND_TAG}` = 'study'")
        runs = self.client.search_runs([experiment_id], filter_string=query,
                                       order_by=["attributes.start_time ASC"], max_results=10)
        return sorted(runs, key=lambda r: (r.info.start_time, r.info.run_id))

    def _find_or_create_study_run(self, study: Study, experiment_id: str) -> str:
        from mlflow.entities import Param
        from mlflow.utils.mlflow_tags import MLFLOW_RUN_NAME

        runs = self._study_runs(study, experiment_id)
        if runs:
            return str(runs[0].info.run_id)
        tags = {**self.tags, STUDY_TAG: study.name, KIND_TAG: "study", MLFLOW_RUN_NAME:
                study.name, "dialed.seed": str(study.seed),
                "dialed.metrics": json.dumps(study.metrics.to_dict())}
        run = self.client.create_run(experiment_id, tags=_clip_tags(tags), run_name=study.name)
        mine = str(run.info.run_id)
        attrs = study.attrs
        params = [Param(k, _param_text(attrs[k])) for k in ("sampler", "pruner", "resource")
                  if k in attrs]
        self.client.log_batch(mine, params=params)
        first = str(self._study_runs(study, experiment_id)[0].info.run_id)
        if first != mine:  # another process made the study's run first: use that one
            self.client.delete_run(mine)
        return first

    def _update_parent(self, study: Study, record: TrialRecord, parent: str, stamp: int,
                       run_tag: Any) -> None:
        from mlflow.entities import Metric

        metrics = []
        if not study.metrics.multi_objective:
            try:
                best = study.best_value
            except (NoTrialsError, ConfigError):
                best = None
            if best is not None:
                metrics.append(Metric(f"best_{study.metrics.primary.name}", best, stamp,
                                      record.number))
        counts = {state.value: study.storage.count_trials(study.study_id, [state])
                  for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED)}
        tags = [run_tag(f"dialed.trials.{state}", str(n)) for state, n in counts.items() if n]
        self.client.log_batch(parent, metrics=metrics, tags=tags)
        if self.parent_run_id is None:
            self.client.set_terminated(parent, status="FINISHED", end_time=stamp)


def trial_tags(study: Study, record: TrialRecord) -> dict[str, str]:
    """The tags a trial's run carries: study, number, state, seed, families, role, ..."""
    space = study.space
    families = sorted({space[name].family or "" for name in record.params if name in space}
                      - {""})
    attrs = record.system_attrs
    tags = {
        STUDY_TAG: study.name,
        KIND_TAG: "trial",
        "dialed.trial": str(record.number),
        "dialed.state": record.state.value,
        "dialed.seed": str(record.seed),
        "dialed.families": ",".join(families),
        "dialed.role": str(attrs.get("role") or "search"),
    }
    for key in ("step", "repeat", "prune_reason", "pruned_at"):
        if attrs.get(key) is not None:
            tags[f"dialed.{key}"] = str(attrs[key])
    if record.error:
        tags["dialed.error"] = record.error.strip().splitlines()[-1]
    if record.wall_seconds is not None:
        tags["dialed.wall_seconds"] = f"{record.wall_seconds:.3f}"
    return tags


def _param_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:_MAX_PARAM_CHARS]


def _clip_tags(tags: Mapping[str, str]) -> dict[str, str]:
    return {k: v[:_MAX_TAG_CHARS] for k, v in tags.items()}


def _quote(text: str) -> str:
    return text.replace("'", "\\'")


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _batches(metrics: Sequence[Any], params: Sequence[Any]) -> Iterator[tuple[list[Any],
                                                                                list[Any]]]:
    n = max(-(-len(metrics) // _MAX_METRICS), -(-len(params) // _MAX_PARAMS), 1)
    for i in range(n):
        yield (list(metrics[i * _MAX_METRICS:(i + 1) * _MAX_METRICS]),
               list(params[i * _MAX_PARAMS:(i + 1) * _MAX_PARAMS]))


def _require_mlflow() -> None:
    try:
        import mlflow  # noqa: F401
    except ImportError:
        raise ConfigError(f"MLflowCallback needs MLflow: {install_hint('mlflow')}") from None
