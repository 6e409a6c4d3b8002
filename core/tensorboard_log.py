"""TensorBoard event files beside metrics.jsonl, written when the `tensorboard` package is installed.

Every metrics record of a run (loss, eval_loss, lr, grad_norm, tokens_per_s, ...) becomes a scalar at
its step in `<run dir>/tensorboard/`; metrics.jsonl stays the record of truth. Without tensorboard
installed this does nothing; `MINDBRIDGE_TENSORBOARD=0` turns it off.

    tensorboard --logdir runs/tiny/tensorboard
"""

from __future__ import annotations

import os
import time
from pathlib import Path

DIR = "tensorboard"
SKIP = {"step", "elapsed_s"}  # the x axis, and wall time (TensorBoard records it per event)


class TensorBoardLog:
    def __init__(self, writer, event_cls, summary_cls):
        self._writer, self._event, self._summary = writer, event_cls, summary_cls

    @classmethod
    def open(cls, run_dir: str | Path) -> "TensorBoardLog | None":
        """The writer, or None when tensorboard is not installed or MINDBRIDGE_TENSORBOARD=0."""
        if os.environ.get("MINDBRIDGE_TENSORBOARD", "1") == "0":
            return None
        try:
            from tensorboard.compat.proto.event_pb2 import Event
            from tensorboard.compat.proto.summary_pb2 import Summary
            from tensorboard.summary.writer.event_file_writer import EventFileWriter
        except ImportError:
            return None
        return cls(EventFileWriter(str(Path(run_dir) / DIR)), Event, Summary)

    def write(self, record: dict) -> None:
        values = [self._summary.Value(tag=k, simple_value=float(v)) for k, v in record.items()
                  if k not in SKIP and isinstance(v, (int, float)) and not isinstance(v, bool)]
        if values and isinstance(record.get("step"), int):
            self._writer.add_event(self._event(wall_time=time.time(), step=record["step"],
                                               summary=self._summary(value=values)))

    def close(self) -> None:
        self._writer.close()
