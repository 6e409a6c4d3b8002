"""Resuming never goes wrong silently: checkpoints are verified by checksum, a damaged one is passed
over with a one-line notice, none usable is a one-line error (not a silent restart), a malformed
meta.json is a one-line error, and metrics.jsonl holds each step once across kill/resume rounds with
the superseded lines kept aside. Real processes (SIGKILL), real files, the torch backend on CPU."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, needs
from core import checkpoint

TINY = REPO / "examples/llama/tiny.yaml"
SMALL = ["model.config.dim=32", "model.config.n_layers=2", "model.config.hidden_dim=64", "data.seq_len=32",
         "data.batch_size=4", "train.eval_batches=1", "train.log_every=0", "checkpoint.keep_last=0"]


def _launch(out: Path, *sets: str, wait: bool = True):
    argv = [sys.executable, "-m", "core.launch", str(TINY), "--device", "cpu", "--no-progress", "--out", str(out)]
    for s in SMALL + list(sets):
        argv += ["--set", s]
    if wait:
        return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=300)
    return subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _losses(run: Path) -> dict[int, float]:
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    steps = [x["step"] for x in lines]
    assert len(steps) == len(set(steps)), f"duplicate steps in metrics.jsonl: {steps}"
    return {x["step"]: x["loss"] for x in lines}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    needs("torch")
    out = tmp_path_factory.mktemp("ref") / "run"
    proc = _launch(out, "train.steps=12", "train.save_every=3")
    assert proc.returncode == 0, proc.stderr
    return _losses(out)


def _corrupt_same_size(path: Path) -> None:
    """Flip bytes in the tensor data, past the safetensors header: the size and the header stay valid."""
    data = bytearray(path.read_bytes())
    header = int.from_bytes(data[:8], "little") + 8
    for i in range(header + 16, min(len(data), header + 64)):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_same_size_corruption_is_detected_and_passed_over(tmp_path, reference):
    run = tmp_path / "run"
    assert _launch(run, "train.steps=9", "train.save_every=3").returncode == 0  # steps 3, 6, 9
    ckpts = run / "checkpoints"
    _corrupt_same_size(ckpts / "step_00000009/model.safetensors")
    assert checkpoint.main(["list", str(ckpts)]) == 0
    proc = _launch(run, "train.steps=12", "train.save_every=3", "checkpoint.resume=auto")
    assert proc.returncode == 0, proc.stderr
    assert (f"resume: passing over {ckpts / 'step_00000009'}: model.safetensors does not match its recorded "
            "SHA-256 (corrupted on disk)") in proc.stdout
    assert f"resumed from {ckpts / 'step_00000006'} at step 6" in proc.stdout
    assert _losses(run) == reference  # steps 7..12 again, from the intact checkpoint: the same run
    superseded = list(run.glob("metrics.superseded-*.jsonl"))
    assert [sorted(json.loads(x)["step"] for x in f.read_text().splitlines()) for f in superseded] == [[7, 8, 9]]


def test_no_usable_checkpoint_stops_with_one_line_instead_of_starting_over(tmp_path):
    needs("torch")
    run = tmp_path / "run"
    assert _launch(run, "train.steps=4", "train.save_every=2").returncode == 0
    for step_dir in (run / "checkpoints").iterdir():
        _corrupt_same_size(step_dir / "model.safetensors")
    before = (run / "metrics.jsonl").read_text()
    proc = _launch(run, "train.steps=8", "checkpoint.resume=auto")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(
        f"error: checkpoint.resume=auto: none of the 2 checkpoint(s) in {run / 'checkpoints'} is usable (newest "
        "step_00000004: model.safetensors does not match its recorded SHA-256 (corrupted on disk)); move them "
        "away, or start over with --set checkpoint.resume=none")
    assert (run / "metrics.jsonl").read_text() == before  # nothing truncated
    fresh = _launch(run, "train.steps=2", "checkpoint.resume=none")  # asking for a fresh start is allowed
    assert fresh.returncode == 0, fresh.stderr
    assert sorted(_losses(run)) == [1, 2]
    kept = [json.loads(x)["step"] for f in run.glob("metrics.superseded-*.jsonl") for x in f.read_text().splitlines()]
    assert sorted(kept) == [1, 2, 3, 4]  # the earlier run's lines, kept aside


@pytest.mark.parametrize("field, value, message", [
    ("step", "six", "'step' must be an integer, got 'six'"),
    ("files", {"model.safetensors": "big"}, "files entry 'model.safetensors' must be"),
    ("rng", [1, 2], "'rng' must be a mapping, got [1, 2]"),
])
def test_a_malformed_meta_json_is_a_one_line_error(tmp_path, field, value, message):
    needs("torch")
    run = tmp_path / "run"
    assert _launch(run, "train.steps=2").returncode == 0
    meta_path = run / "checkpoints/step_00000002/meta.json"
    meta = json.loads(meta_path.read_text())
    meta[field] = value
    meta_path.write_text(json.dumps(meta))
    proc = _launch(run, "train.steps=4", f"checkpoint.resume={meta_path.parent}")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and message in proc.stderr, proc.stderr
    info = subprocess.run([sys.executable, "-m", "core.checkpoint", "info", str(meta_path.parent)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert info.returncode == 2 and message in info.stderr and "Traceback" not in info.stderr


def test_a_checkpoint_from_before_the_checksums_still_loads(tmp_path):
    import numpy as np

    step_dir = checkpoint.save_checkpoint(tmp_path, 3, {"w": np.ones(2, np.float32)}, {"step": np.array(3)}, {})
    meta = json.loads((step_dir / "meta.json").read_text())
    meta["format_version"] = 1
    meta["files"] = {name: entry["bytes"] for name, entry in meta["files"].items()}  # sizes only, as format 1
    (step_dir / "meta.json").write_text(json.dumps(meta))
    weights, _, loaded = checkpoint.load_checkpoint(tmp_path)
    assert loaded["step"] == 3 and weights["w"].tolist() == [1.0, 1.0]


def _kill_once(run: Path, moment: int) -> bool:
    """Start the run (resuming) and SIGKILL it: moment 0 while a checkpoint is being written (a temporary
    folder seen), else after `moment` more lines of metrics. True when the kill hit a checkpoint write."""
    ckpts = run / "checkpoints"
    metrics = run / "metrics.jsonl"
    start_lines = len(metrics.read_text().splitlines()) if metrics.exists() else 0
    proc = _launch(run, "train.steps=12", "train.save_every=2", "checkpoint.resume=auto", wait=False)
    deadline = time.monotonic() + 120
    mid_write = False
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if moment == 0 and ckpts.is_dir() and any(p.name.startswith(".tmp-step") for p in ckpts.iterdir()):
                mid_write = True
                break
            if moment and metrics.exists() and len(metrics.read_text().splitlines()) >= start_lines + moment:
                break
            time.sleep(0.001)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    return mid_write


def test_kill_and_resume_rounds_give_the_uninterrupted_run(tmp_path, reference):
    """SIGKILL at varied moments (during a checkpoint write, between steps), resume each time: every round
    continues from the newest verified checkpoint and the result equals the run that was never killed."""
    run = tmp_path / "run"
    hits = [_kill_once(run, moment) for moment in (0, 3, 0, 5)]
    for _ in range(4):  # until one kill has landed inside a checkpoint write (a save takes milliseconds)
        if any(hits):
            break
        hits.append(_kill_once(run, 0))
    assert any(hits), "no kill landed while a checkpoint was being written"
    proc = _launch(run, "train.steps=12", "train.save_every=2", "checkpoint.resume=auto")
    assert proc.returncode == 0, proc.stderr
    assert _losses(run) == reference
    for step_dir in (run / "checkpoints").iterdir():
        assert checkpoint.store.problem(step_dir, verify=True) is None or step_dir.name.startswith(".tmp")
