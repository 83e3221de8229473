"""TensorBoard: each trial a run with its hyperparameters (the ``tensorboard`` extra).

>>> from dialed.integrations.tensorboard import TensorBoardCallback
>>> study.optimize(objective, n_trials=20,  # doctest: +SKIP
...                callbacks=[TensorBoardCallback("runs")])
>>> # tensorboard --logdir runs  (the HPARAMS tab compares the trials)

Each finished trial is written to ``<log_dir>/<study>/trial-<number>`` as an event file
holding the hparams plugin's session start (the trial's parameters, and its state as the
``dialed.state`` hparam), its metrics and its intermediate curve as scalars, and the session
end with its status (complete: success, failed: failure, pruned: unknown, as TensorBoard has
no status for a run stopped early). The hparams plugin builds the experiment from
these runs, as it does for Keras' hparams callback; no TensorFlow is needed to write them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dialed._util import install_hint, now
from dialed.errors import ConfigError
from dialed.trial import TrialRecord, TrialState

if TYPE_CHECKING:
    from dialed.study import Study

__all__ = ["STATE_HPARAM", "TensorBoardCallback", "hparam_values", "run_name"]

#: The hparam that holds each trial's state (complete, pruned, failed), to filter by it.
STATE_HPARAM = "dialed.state"


def run_name(study_name: str, number: int) -> str:
    """The run (directory under the log directory) that holds trial ``number``."""
    return f"{study_name}/trial-{number:04d}"


class TensorBoardCallback:
    """A study callback that writes each finished trial as a TensorBoard run.

    ``log_dir``: the directory TensorBoard is pointed at (created when missing).
    ``curve``: the scalar tag that holds the intermediate curve (report steps as steps).
    """

    def __init__(self, log_dir: str | Path, *, curve: str = "intermediate") -> None:
        if not isinstance(log_dir, (str, Path)) or not str(log_dir):
            raise ConfigError(f"log_dir must be a directory path, got {log_dir!r}")
        if not isinstance(curve, str) or not curve:
            raise ConfigError(f"curve must be a non-empty scalar tag, got {curve!r}")
        try:
            import tensorboard  # noqa: F401
        except ImportError:
            raise ConfigError(
                f"TensorBoardCallback needs TensorBoard: {install_hint('tensorboard')}"
            ) from None
        self.log_dir = Path(log_dir)
        self.curve = curve

    def __call__(self, study: Study, record: TrialRecord) -> None:
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        end = record.finished_at if record.finished_at is not None else now()
        start = record.started_at if record.started_at is not None else end
        writer = EventFileWriter(str(self.log_dir / run_name(study.name, record.number)))
        try:
            writer.add_event(_event(start, 0, [_session_start(record, start)]))
            for step, value in sorted(record.intermediate.items()):
                writer.add_event(_event(end, int(step), [_scalar(self.curve, value)]))
            last = record.last_step or 0
            if record.metrics:
                writer.add_event(_event(end, last, [_scalar(k, v)
                                                    for k, v in record.metrics.items()]))
            writer.add_event(_event(end, last, [_session_end(record.state, end)]))
        finally:
            writer.close()


def hparam_values(params: Mapping[str, Any]) -> dict[str, Any]:
    """The trial's parameters as the hparams plugin holds them: numbers (ints as floats),
    booleans and strings; any other value (a list) as its JSON text."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, (bool, str)):
            out[key] = value
        elif isinstance(value, (int, float)):
            out[key] = float(value)
        else:
            out[key] = json.dumps(value, default=str)
    return out


def _event(wall_time: float, step: int, values: list[Any]) -> Any:
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary

    return Event(wall_time=wall_time, step=step, summary=Summary(value=values))


def _scalar(tag: str, value: float) -> Any:
    from tensorboard.compat.proto.summary_pb2 import Summary

    return Summary.Value(tag=tag, simple_value=float(value))


def _plugin_value(tag: str, data: Any) -> Any:
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.plugins.hparams import metadata

    return Summary.Value(tag=tag, metadata=metadata.create_summary_metadata(data),
                         tensor=metadata.NULL_TENSOR)


def _session_start(record: TrialRecord, start: float) -> Any:
    from tensorboard.plugins.hparams import metadata, plugin_data_pb2

    info = plugin_data_pb2.SessionStartInfo(start_time_secs=start)
    values = {**hparam_values(record.params), STATE_HPARAM: record.state.value}
    for key, value in values.items():
        if isinstance(value, bool):
            info.hparams[key].bool_value = value
        elif isinstance(value, float):
            info.hparams[key].number_value = value
        else:
            info.hparams[key].string_value = value
    data = plugin_data_pb2.HParamsPluginData(session_start_info=info)
    return _plugin_value(metadata.SESSION_START_INFO_TAG, data)


def _session_end(state: TrialState, end: float) -> Any:
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

    status = {
        TrialState.COMPLETE: api_pb2.STATUS_SUCCESS,
        TrialState.FAILED: api_pb2.STATUS_FAILURE,
    }.get(state, api_pb2.STATUS_UNKNOWN)
    info = plugin_data_pb2.SessionEndInfo(status=status, end_time_secs=end)
    data = plugin_data_pb2.HParamsPluginData(session_end_info=info)
    return _plugin_value(metadata.SESSION_END_INFO_TAG, data)
