"""TensorBoardCallback: event files that TensorBoard's own reader and hparams plugin load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tensorboard import context as tb_context
from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins import base_plugin
from tensorboard.plugins.hparams import (
    api_pb2,
    backend_context,
    get_experiment,
    list_session_groups,
    metadata,
)

import dialed
from dialed.errors import ConfigError
from dialed.integrations.tensorboard import STATE_HPARAM, TensorBoardCallback, run_name


def objective(trial: dialed.Trial) -> float:
    x = trial.suggest_float("x", -1.0, 1.0)
    layers = trial.suggest_int("layers", 1, 4)
    act = trial.suggest_categorical("act", ["relu", "tanh"])
    if x > 0.9:
        raise RuntimeError("diverged")
    loss = (x - 0.3) ** 2 + 0.01 * layers + (0.05 if act == "tanh" else 0.0)
    for step in range(4):
        trial.report(loss + 1.0 / (step + 1), step)
        if trial.should_prune():
            raise dialed.Pruned()
    return loss


def _value(v: Any) -> Any:
    kind = v.WhichOneof("kind")
    return getattr(v, kind)


@pytest.fixture
def written(tmp_path: Path) -> tuple[dialed.Study, Path]:
    study = dialed.create_study("tb", metrics={"loss": "minimize"}, seed=5, pruner="median")
    study.enqueue_trial({"x": 0.95, "layers": 2, "act": "relu"})  # fails, whatever the seed
    study.optimize(objective, n_trials=14, catch=RuntimeError,
                   callbacks=[TensorBoardCallback(tmp_path)])
    return study, tmp_path


def test_each_trial_reads_back_with_the_event_accumulator(
    written: tuple[dialed.Study, Path],
) -> None:
    study, log_dir = written
    assert {t.state.value for t in study.trials} == {"complete", "pruned", "failed"}
    status = {"complete": api_pb2.STATUS_SUCCESS, "pruned": api_pb2.STATUS_UNKNOWN,
              "failed": api_pb2.STATUS_FAILURE}
    for rec in study.trials:
        acc = EventAccumulator(str(log_dir / run_name("tb", rec.number))).Reload()
        content = acc.PluginTagToContent("hparams")
        start = metadata.parse_session_start_info_plugin_data(
            content[metadata.SESSION_START_INFO_TAG])
        hparams = {k: _value(v) for k, v in start.hparams.items()}
        expected = {k: float(v) if isinstance(v, int) else v for k, v in rec.params.items()}
        assert hparams == {**expected, STATE_HPARAM: rec.state.value}
        end = metadata.parse_session_end_info_plugin_data(content[metadata.SESSION_END_INFO_TAG])
        assert end.status == status[rec.state.value]
        assert end.end_time_secs >= start.start_time_secs
        scalars = acc.Tags()["scalars"]
        if rec.intermediate:
            curve = {e.step: e.value for e in acc.Scalars("intermediate")}
            assert curve == pytest.approx(dict(rec.intermediate), rel=1e-6)
        if rec.state == dialed.TrialState.COMPLETE:
            [final] = acc.Scalars("loss")
            assert final.value == pytest.approx(rec.metrics["loss"], rel=1e-6)
            assert final.step == rec.last_step
        else:
            assert "loss" not in scalars


def test_the_hparams_plugin_builds_the_experiment_and_its_session_groups(
    written: tuple[dialed.Study, Path],
) -> None:
    study, log_dir = written
    mux = plugin_event_multiplexer.EventMultiplexer()
    mux.AddRunsFromDirectory(str(log_dir))
    mux.Reload()
    tb = base_plugin.TBContext(logdir=str(log_dir), multiplexer=mux,
                               data_provider=data_provider.MultiplexerDataProvider(
                                   mux, str(log_dir)))
    backend = backend_context.Context(tb)
    request = tb_context.RequestContext()
    experiment = get_experiment.Handler(request, backend, "",
                                        api_pb2.GetExperimentRequest()).run()
    assert {h.name for h in experiment.hparam_infos} == {"x", "layers", "act", STATE_HPARAM}
    assert {m.name.tag for m in experiment.metric_infos} == {"loss", "intermediate"}
    act = next(h for h in experiment.hparam_infos if h.name == "act")
    used = {t.params["act"] for t in study.trials}
    assert {v.string_value for v in act.domain_discrete.values} == used

    groups = list_session_groups.Handler(request, backend, "", api_pb2.ListSessionGroupsRequest(
        start_index=0, slice_size=100,
        allowed_statuses=[api_pb2.STATUS_SUCCESS, api_pb2.STATUS_UNKNOWN,
                          api_pb2.STATUS_FAILURE])).run()
    by_name = {g.name: g for g in groups.session_groups}
    assert set(by_name) == {run_name("tb", t.number) for t in study.trials}
    best = study.best_trial
    group = by_name[run_name("tb", best.number)]
    loss = next(m for m in group.metric_values if m.name.tag == "loss")
    assert loss.value == pytest.approx(best.metrics["loss"], rel=1e-6)


def test_bad_arguments_are_one_line_errors() -> None:
    with pytest.raises(ConfigError, match="log_dir must be a directory path"):
        TensorBoardCallback("")
    with pytest.raises(ConfigError, match="curve must be a non-empty scalar tag"):
        TensorBoardCallback("runs", curve="")
