"""No training outlives its launcher: SIGTERM or SIGKILL of `python -m core.launch ... --nproc 2`
leaves no live worker within 10 s, under torchrun and under msrun; SIGKILL of `codemods.convert -j 2`
leaves no pool worker writing. Real processes and real signals; a process belongs to a run when its
environment names the launcher's pid (MINDBRIDGE_LAUNCHER_PID, set for everything it starts)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, needs

TINY = REPO / "examples/llama/tiny.yaml"
DEADLINE_S = 10.0


def _members(launcher_pid: int) -> list[int]:
    """Live processes started for this launcher (torchrun/msrun, their workers, msrun's scheduler)."""
    tag = f"MINDBRIDGE_LAUNCHER_PID={launcher_pid}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if tag in (entry / "environ").read_bytes().split(b"\0"):
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":  # a zombie has exited; only its parent has not read its status yet
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def _start(tmp_path, backend):
    argv = [sys.executable, "-m", "core.launch", str(TINY), "--backend", backend, "--device", "cpu", "--nproc", "2",
            "--no-progress", "--out", str(tmp_path / "run"), "--set", "train.steps=100000", "--set", "train.log_every=0"]
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, MINDBRIDGE_CACHE=str(tmp_path / "cache")))
    metrics = tmp_path / "run/metrics.jsonl"
    deadline = time.monotonic() + 240
    while not (metrics.exists() and metrics.stat().st_size > 0):  # training is under way on every rank
        assert proc.poll() is None, proc.stderr.read()[-2000:]
        assert time.monotonic() < deadline, "the run did not start training"
        time.sleep(0.2)
    assert len(_members(proc.pid)) >= 3  # the launcher's child and two workers
    return proc


def _gone_within(launcher_pid: int, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = _members(launcher_pid)
        if not left:
            return []
        time.sleep(0.2)
    return _members(launcher_pid)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["torch", "mindspore"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_stopped_launcher_leaves_no_worker(tmp_path, backend, sig):
    needs(backend)
    proc = _start(tmp_path, backend)
    pid = proc.pid
    os.kill(pid, sig)
    left = _gone_within(pid, DEADLINE_S)
    for p in left:  # tidy up before failing, so one failure does not slow every later test
        os.kill(p, signal.SIGKILL)
    assert not left, f"still running {DEADLINE_S} s after {sig.name} of the launcher: {left}"
    code = proc.wait(timeout=30)
    if sig == signal.SIGTERM:
        assert code == 128 + signal.SIGTERM
        assert "error: stopped by SIGTERM" in proc.stderr.read()
    lines = (tmp_path / "run/metrics.jsonl").read_text().splitlines()
    time.sleep(2)
    assert (tmp_path / "run/metrics.jsonl").read_text().splitlines() == lines  # nobody writes any more


def test_killed_converter_leaves_no_pool_worker_writing(tmp_path):
    src = tmp_path / "src"
    for i in range(400):  # enough files for the workers to be busy when the parent dies
        (src / f"pkg{i % 20}").mkdir(parents=True, exist_ok=True)
        (src / f"pkg{i % 20}/m{i}.py").write_text((REPO / "examples/llama/model.py").read_text())
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "codemods.convert", str(src), "-o", str(out), "-j", "2"], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while not (out.exists() and sum(1 for _ in out.rglob("*.py")) >= 20):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    workers = [int(p) for p in subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                                text=True).stdout.split()]
    assert workers, "no pool workers seen"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(0.5)
    count = sum(1 for _ in out.rglob("*.py"))
    time.sleep(2.0)
    assert sum(1 for _ in out.rglob("*.py")) == count, "pool workers kept writing after their parent died"
    alive = [w for w in workers if Path(f"/proc/{w}").exists()
             and Path(f"/proc/{w}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]
    assert not alive, f"pool workers {alive} outlived their parent"
    assert count < 400
