"""Helpers for the distributed tests: run core.launch as users do, read its metrics, kill one rank.

Every run is the tiny Llama shrunk to dim 32, 2 layers, seq 32, batch 4 on CPU, so a 2-process run
takes seconds; processes are found through a tag in their environment (Linux /proc)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "examples/llama/tiny.yaml"
SMALL = {"model.config.dim": 32, "model.config.n_layers": 2, "model.config.hidden_dim": 96, "data.seq_len": 32,
         "data.batch_size": 4, "train.steps": 6, "train.log_every": 1, "train.eval_batches": 2,
         "schedule.warmup_steps": 0, "checkpoint.keep_last": 0}
TAG = "MINDBRIDGE_TEST_TAG"


def overrides(**extra) -> dict:
    return {**SMALL, **{k.replace("__", "."): v for k, v in extra.items()}}


def set_args(ov: dict) -> list[str]:
    out = []
    for k, v in ov.items():
        out += ["--set", f"{k}={v}"]
    return out


def launch_cmd(*args: str, ov: dict | None = None) -> list[str]:
    return [sys.executable, "-m", "core.launch", str(TINY), "--device", "cpu", "--no-progress", *args,
            *set_args(ov or SMALL)]


def run(cmd: list[str], timeout: float = 240, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=full_env)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def metrics(run_dir: Path) -> tuple[list[float], float]:
    """(per-step losses, final eval loss) from a run's metrics.jsonl."""
    rows = [json.loads(x) for x in (Path(run_dir) / "metrics.jsonl").read_text().splitlines()]
    return [r["loss"] for r in rows if "loss" in r], rows[-1]["eval_loss"]


def max_rel(a: list[float], b: list[float]) -> float:
    assert len(a) == len(b), (a, b)
    return max(abs(x - y) / abs(y) for x, y in zip(a, b))


def start_tagged(cmd: list[str], logs: Path) -> tuple[subprocess.Popen, str]:
    """Start cmd with a unique tag in its environment; its stdout/stderr go to logs/out.txt, logs/err.txt
    (files, not pipes, so a chatty run never blocks on a full pipe)."""
    tag = uuid.uuid4().hex
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / "out.txt", "w") as out, open(logs / "err.txt", "w") as err:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=err, text=True, env={**os.environ, TAG: tag})
    return proc, tag


def output(logs: Path) -> tuple[str, str]:
    return (logs / "out.txt").read_text(), (logs / "err.txt").read_text()


def tagged_pids(tag: str, **env_match: str) -> list[int]:
    """Pids of running core.launch processes carrying `tag` whose environment has every env_match item."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            env = dict(x.split("=", 1) for x in (d / "environ").read_bytes().decode(errors="replace").split("\0")
                       if "=" in x)
            cmdline = (d / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if env.get(TAG) == tag and "core.launch" in cmdline and all(env.get(k) == v for k, v in env_match.items()):
            pids.append(int(d.name))
    return pids


def kill_rank_when_training(proc: subprocess.Popen, tag: str, run_dir: Path, rank_env: dict, logs: Path,
                            timeout: float = 180):
    """Wait until rank 0 has logged a step, SIGKILL the worker matching rank_env; return the kill time."""
    deadline = time.monotonic() + timeout
    metrics_file = Path(run_dir) / "metrics.jsonl"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out, err = output(logs)
            raise AssertionError(f"run ended before the kill ({proc.returncode}):\n{out[-3000:]}\n{err[-3000:]}")
        if metrics_file.exists() and metrics_file.read_text().strip():
            pids = tagged_pids(tag, **rank_env)
            if len(pids) == 1:
                os.kill(pids[0], signal.SIGKILL)
                return time.monotonic(), pids[0]
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("training did not start in time")
