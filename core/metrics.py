"""The run's metrics file, `<run dir>/metrics.jsonl`: one JSON line per step, each step once, never lost.

A run that resumes at step S keeps the lines of steps 1..S and continues after them; a fresh run
starts an empty file. Lines a run supersedes (steps after S of an earlier attempt, a whole earlier
run, a line cut off by a crash) are moved aside to `metrics.superseded-<time>.jsonl` next to it,
never deleted; both files are rewritten atomically (core.atomic) before training continues.
With the `tensorboard` package installed, each record also goes to TensorBoard event files in
`<run dir>/tensorboard/` (core/tensorboard_log.py).

    log = MetricsLog.open(run_dir, resume_step=start)     # start 0: a fresh run
    log.write({"step": 1, "loss": 5.5, ...})
    log.close()
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import IO

from core.atomic import atomic_write_text
from core.tensorboard_log import TensorBoardLog

FILE = "metrics.jsonl"


def _step_of(line: str) -> int | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    step = record.get("step") if isinstance(record, dict) else None
    return step if isinstance(step, int) and not isinstance(step, bool) else None


def split_lines(lines: list[str], resume_step: int) -> tuple[list[str], list[str]]:
    """(lines to keep: well-formed, step <= resume_step, first of each step; the superseded rest)."""
    keep, aside, seen = [], [], set()
    for line in lines:
        step = _step_of(line)
        if step is not None and step <= resume_step and step not in seen:
            keep.append(line)
            seen.add(step)
        elif line.strip():
            aside.append(line)
    return keep, aside


class MetricsLog:
    def __init__(self, path: Path, fh: IO[str], superseded: Path | None):
        self.path, self._fh, self.superseded = path, fh, superseded
        self._tensorboard = TensorBoardLog.open(path.parent)  # None without the tensorboard package

    @classmethod
    def open(cls, run_dir: str | Path, resume_step: int = 0) -> "MetricsLog":
        path = Path(run_dir) / FILE
        superseded = None
        if path.exists():
            keep, aside = split_lines(path.read_text(encoding="utf-8", errors="replace").splitlines(), resume_step)
            if aside:
                stamp = time.strftime("%Y%m%d-%H%M%S")
                superseded, n = path.with_name(f"metrics.superseded-{stamp}.jsonl"), 1
                while superseded.exists():  # two restarts within one second
                    superseded, n = path.with_name(f"metrics.superseded-{stamp}-{n}.jsonl"), n + 1
                atomic_write_text(superseded, "".join(f"{line}\n" for line in aside))
            atomic_write_text(path, "".join(f"{line}\n" for line in keep))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        return cls(path, open(path, "a", encoding="utf-8"), superseded)

    def write(self, record: dict) -> None:
        self._fh.write(json.dumps(record) + "\n")
        self._fh.flush()
        if self._tensorboard is not None:
            self._tensorboard.write(record)

    def close(self) -> None:
        self._fh.close()
        if self._tensorboard is not None:
            self._tensorboard.close()
