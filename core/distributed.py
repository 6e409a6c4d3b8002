"""Multi-process data parallel on the engines users already run: torchrun (torch) and msrun (MindSpore).

Two halves, no framework imported at module import time:
- the launcher side: `python -m core.launch RECIPE --nproc 2` builds the torchrun / msrun command line
  (printed before it runs), re-runs `core.launch` under it, watches the run and, when a rank dies,
  stops the whole run with one clear message (for msrun, with the failing worker's log tail);
- the worker side: `detect_env()` reads what torchrun (RANK, WORLD_SIZE, LOCAL_RANK) or msrun (MS_ROLE,
  MS_WORKER_NUM, RANK_ID, DEVICE_ID) exported, and `worker(backend)` joins the process group through
  `backends/<framework>/distributed.py` (gloo/nccl/hccl for torch, mindspore.communication for MindSpore).

    python -m core.launch examples/llama/tiny.yaml --nproc 2                      # torchrun
    python -m core.launch examples/llama/tiny.yaml --backend mindspore --nproc 2  # msrun
    torchrun --nproc_per_node 2 -m core.launch examples/llama/tiny.yaml           # torchrun directly

Timeouts (docs/distributed.md): a rank that dies is noticed by torchrun at once and by msrun within
about a second, and the run stops within a few seconds; a rank that hangs is bounded by
MINDBRIDGE_DIST_TIMEOUT seconds (default 300): torch's process-group timeout, msrun's cluster timeout.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

TIMEOUT_ENV = "MINDBRIDGE_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 300
MSRUN_GRACE_S = 3.0  # after msrun reports a dead worker: time for it to kill the others before we stop it
_DIST_PACKAGES = {"torch": "backends.torch_npu.distributed", "mindspore": "backends.mindspore.distributed"}


class DistributedError(RuntimeError):
    """A one-line, user-facing problem with a distributed run (bad flags, wrong launcher, a dead rank)."""


# ---------------------------------------------------------------- worker side


@dataclass(frozen=True)
class DistEnv:
    """Where this process sits in a distributed run; launcher '' means a plain single process."""

    launcher: str = ""  # "", "torchrun" or "msrun"
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    scheduler: bool = False  # msrun's scheduler process (MS_ROLE=MS_SCHED): joins, never trains

    @property
    def active(self) -> bool:
        return bool(self.launcher)


def _int_env(env, key: str, default: int | None = None) -> int:
    raw = env.get(key)
    if raw is None or raw == "":
        if default is None:
            raise DistributedError(f"environment variable {key} is missing (set by torchrun/msrun)")
        return default
    try:
        return int(raw)
    except ValueError:
        raise DistributedError(f"environment variable {key}={raw!r} is not an integer") from None


def detect_env(environ=None) -> DistEnv:
    """Read torchrun's or msrun's environment variables; no variables means a single process."""
    env = os.environ if environ is None else environ
    if env.get("MS_ROLE") in ("MS_WORKER", "MS_SCHED"):
        # msrun exports RANK_ID when ranks are known up front (one node, or --node_rank given);
        # otherwise MindSpore assigns them in init() and the backend reports the real one.
        return DistEnv("msrun", rank=_int_env(env, "RANK_ID", 0), world_size=_int_env(env, "MS_WORKER_NUM"),
                       local_rank=_int_env(env, "DEVICE_ID", 0), scheduler=env["MS_ROLE"] == "MS_SCHED")
    if "WORLD_SIZE" in env and "RANK" in env:
        return DistEnv("torchrun", rank=_int_env(env, "RANK"), world_size=_int_env(env, "WORLD_SIZE"),
                       local_rank=_int_env(env, "LOCAL_RANK", 0))
    return DistEnv()


def timeout_s(environ=None) -> int:
    """Seconds a collective (or the cluster build) may wait for a silent rank: MINDBRIDGE_DIST_TIMEOUT."""
    env = os.environ if environ is None else environ
    value = _int_env(env, TIMEOUT_ENV, DEFAULT_TIMEOUT_S)
    if value <= 0:
        raise DistributedError(f"{TIMEOUT_ENV} must be a positive number of seconds, got {value}")
    return value


@contextlib.contextmanager
def worker(backend, env: DistEnv | None = None) -> Iterator[DistEnv]:
    """Join the run's process group for `backend` (no-op for a single process); leave it on exit.

    Yields the DistEnv with the rank and world size the framework reports."""
    env = detect_env() if env is None else env
    if not env.active:
        yield env
        return
    expected = "msrun" if backend.name == "mindspore" else "torchrun"
    if env.launcher != expected:
        flag = "--backend mindspore " if backend.name == "mindspore" else ""
        raise DistributedError(f"the {backend.name} backend runs multi-process under {expected}, but this process "
                               f"was started by {env.launcher}; use: python -m core.launch RECIPE {flag}--nproc N")
    module = importlib.import_module(_DIST_PACKAGES[backend.name])
    rank, world = module.init_process_group(backend, env, timeout_s())
    joined = DistEnv(env.launcher, rank=rank, world_size=world, local_rank=env.local_rank, scheduler=env.scheduler)
    try:
        yield joined
    finally:
        module.destroy_process_group()


# ---------------------------------------------------------------- launcher side


@dataclass(frozen=True)
class LaunchSpec:
    """The multi-process flags of core.launch, passed through to torchrun / msrun."""

    nproc: int = 1  # processes on this node
    nnodes: int = 1
    node_rank: int = 0
    master_addr: str = "127.0.0.1"
    master_port: int | None = None  # None: a free port (one node) / 29500 (torch) or 8118 (msrun)

    @property
    def multi_process(self) -> bool:
        return self.nproc > 1 or self.nnodes > 1

    def check(self) -> None:
        if self.nproc < 1:
            raise DistributedError(f"--nproc must be >= 1, got {self.nproc}")
        if self.nnodes < 1:
            raise DistributedError(f"--nnodes must be >= 1, got {self.nnodes}")
        if not 0 <= self.node_rank < self.nnodes:
            raise DistributedError(f"--node-rank must be in [0, {self.nnodes - 1}] for --nnodes {self.nnodes}, "
                                   f"got {self.node_rank}")
        if self.master_port is not None and not 1024 <= self.master_port <= 65535:
            raise DistributedError(f"--master-port must be in 1024..65535, got {self.master_port}")
        if self.nnodes > 1 and self.master_port is None:
            raise DistributedError("--nnodes > 1 needs --master-port (and --master-addr of node 0) on every node")


# Flags of core.launch that belong to the launcher, not to the re-run worker command: name -> takes a value.
LAUNCH_FLAGS = {"--nproc": True, "--nnodes": True, "--node-rank": True, "--master-addr": True, "--master-port": True}


def strip_launch_flags(argv: list[str]) -> list[str]:
    """argv without the multi-process flags (`--nproc 2` and `--nproc=2` forms)."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in LAUNCH_FLAGS:
            skip = "=" not in arg and LAUNCH_FLAGS[name]
            continue
        out.append(arg)
    return out


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def torchrun_command(spec: LaunchSpec, worker_args: list[str], python: str = sys.executable) -> list[str]:
    """`python -m torch.distributed.run ... -m core.launch ARGS`: the venv's python runs the workers."""
    cmd = [python, "-m", "torch.distributed.run", f"--nproc-per-node={spec.nproc}"]
    if spec.nnodes == 1 and spec.master_port is None:
        cmd.append("--standalone")  # local rendezvous on a free port
    else:
        cmd += [f"--nnodes={spec.nnodes}", f"--node-rank={spec.node_rank}", f"--master-addr={spec.master_addr}",
                f"--master-port={spec.master_port or 29500}"]
    return cmd + ["-m", "core.launch", *worker_args]


def msrun_command(spec: LaunchSpec, worker_args: list[str], log_dir: str | Path, timeout: int) -> list[str]:
    """`msrun ... python -m core.launch ARGS`; msrun's workers run `python` from PATH (see msrun_env)."""
    port = spec.master_port or (free_port() if spec.nnodes == 1 else 8118)
    cmd = ["msrun", f"--worker_num={spec.nproc * spec.nnodes}", f"--local_worker_num={spec.nproc}",
           f"--master_addr={spec.master_addr}", f"--master_port={port}", f"--log_dir={log_dir}", "--join=True",
           f"--cluster_time_out={timeout}", "--tail_worker_log=0"]
    if spec.nnodes > 1:
        cmd.append(f"--node_rank={spec.node_rank}")
    return cmd + ["python", "-m", "core.launch", *worker_args]


def msrun_env(python: str = sys.executable, environ=None) -> dict[str, str]:
    """msrun starts workers with `python` from PATH: put this interpreter's bin/ first so they use it."""
    env = dict(os.environ if environ is None else environ)
    env["PATH"] = os.pathsep.join([str(Path(python).parent), env.get("PATH", "")])
    env.setdefault("GLOG_v", "3")  # MindSpore's C++ log level: errors only
    return env


# ---------------------------------------------------------------- watching a run and explaining failures


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


_TORCH_ROOT = re.compile(r"Root Cause.*?rank\s*:\s*(\d+)\s*\(local_rank:\s*(\d+)\).*?exitcode\s*:\s*(-?\d+)"
                         r"(?:.*?traceback\s*:\s*([^\n]*))?", re.S)


def explain_torchrun_failure(output: str, code: int) -> str:
    """One line from torchrun's failure summary: which rank died first, and how."""
    m = _TORCH_ROOT.search(output)
    if not m:
        return f"distributed run failed: torchrun {_exit_reason(code)} (see its output above)"
    rank, local, rc = int(m.group(1)), int(m.group(2)), int(m.group(3))
    detail = (m.group(4) or "").strip()
    useless = not detail or detail == "<N/A>" or detail.startswith(("Signal", "To enable traceback"))
    how = _exit_reason(rc) + ("" if useless else f": {detail}")
    return (f"distributed run failed: rank {rank} (local rank {local}) {how}; torchrun stopped the other ranks "
            f"(its error, if any, is above)")


_MS_DEAD = re.compile(r"Worker process (\d+) exit with exception\. Error code: (-?\d+)")
_MS_PID_LINE = "mindbridge: msrun worker rank {rank} of {world}, pid {pid}"


def announce_msrun_worker(rank: int, world: int) -> None:
    """Written into each msrun worker log, so the launcher can name the rank of a dead pid."""
    print(_MS_PID_LINE.format(rank=rank, world=world, pid=os.getpid()), flush=True)


def _tail(path: Path, lines: int) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    keep = [x for x in text.splitlines() if x.strip() and not x.startswith("[INFO]")]
    return keep[-lines:]


def explain_msrun_failure(log_dir: str | Path, pid: int | None, code: int | None, msrun_code: int,
                          tail_lines: int = 15) -> str:
    """Message for a failed msrun job: the dead worker's rank, how it died, and the tail of its log."""
    log_dir = Path(log_dir)
    logs = sorted(log_dir.glob("worker_*.log"))
    failed = None
    if pid is not None:
        pattern = re.compile(r"msrun worker rank (\d+) of \d+, pid " + str(pid) + r"\b")
        for log in logs:
            m = pattern.search(log.read_text(encoding="utf-8", errors="replace") if log.exists() else "")
            if m:
                failed = (int(m.group(1)), log)
                break
    if failed:
        head = f"distributed run failed: rank {failed[0]} (pid {pid}) {_exit_reason(code)}"
        shown = [failed[1]]
    elif pid is not None:
        head = f"distributed run failed: msrun worker pid {pid} {_exit_reason(code)}"
        shown = logs
    else:
        head = f"distributed run failed: msrun {_exit_reason(msrun_code)}"
        shown = logs
    parts = [f"{head}; msrun stopped the other workers. Logs: {log_dir}"]
    for log in shown:
        tail = _tail(log, tail_lines)
        if tail:
            parts.append(f"--- last lines of {log}:")
            parts += ["    " + x for x in tail]
    return "\n".join(parts)


def _pump(src, dst, keep: deque, on_line=None) -> None:
    """Copy a child's stream to ours as it comes (progress bars included) and keep its recent text."""
    pending = ""
    while True:
        chunk = src.read1(65536) if hasattr(src, "read1") else src.read(65536)
        if not chunk:
            break
        dst.write(chunk.decode("utf-8", errors="replace"))
        dst.flush()
        text = pending + chunk.decode("utf-8", errors="replace")
        *lines, pending = text.split("\n")
        for line in lines:
            keep.append(line)
            if on_line:
                on_line(line)
    if pending:
        keep.append(pending)
        if on_line:
            on_line(pending)


def run_torchrun(cmd: list[str], err=None) -> tuple[int, str]:
    """Run torchrun with its stderr watched; returns (exit code, failure message or '')."""
    err = err or sys.stderr
    keep: deque = deque(maxlen=400)
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE)
    try:
        _pump(proc.stderr, err, keep)
        code = proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)  # torchrun forwards it to the workers
        proc.wait()
        raise
    return code, ("" if code == 0 else explain_torchrun_failure("\n".join(keep), code))


def run_msrun(cmd: list[str], log_dir: str | Path, env: dict[str, str], err=None) -> tuple[int, str]:
    """Run msrun; when it reports a dead worker, give it MSRUN_GRACE_S to kill the others, then stop it
    (its scheduler would otherwise wait out a ~30 s heartbeat timeout). Returns (exit code, message)."""
    err = err or sys.stderr
    keep: deque = deque(maxlen=400)
    dead: dict[str, int] = {}
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, env=env, start_new_session=True)

    def on_line(line: str) -> None:
        m = _MS_DEAD.search(line)
        if m and not dead:
            dead.update(pid=int(m.group(1)), code=int(m.group(2)))
            threading.Thread(target=_stop_later, daemon=True).start()

    def _stop_later() -> None:
        deadline = time.monotonic() + MSRUN_GRACE_S
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # msrun, its scheduler and log tails (workers are gone)

    try:
        _pump(proc.stderr, err, keep, on_line)
        code = proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)  # msrun kills its workers and scheduler on SIGINT
        proc.wait()
        raise
    if code == 0 and not dead:
        return 0, ""
    return (code if code > 0 else 1), explain_msrun_failure(log_dir, dead.get("pid"), dead.get("code"), code)


def spawn(recipe, spec: LaunchSpec, worker_args: list[str], log=print) -> int:
    """Run `core.launch` with `worker_args` on spec.nproc processes under torchrun or msrun.

    Prints the command first; returns the launcher's exit code, after printing a one-line reason
    (plus the failing worker's log tail for msrun) to stderr when the run failed."""
    spec.check()
    if recipe.backend == "mindspore" and recipe.train.parallel != "ddp":
        raise DistributedError(f"train.parallel={recipe.train.parallel} is torch-only; the MindSpore backend runs "
                               "data parallel (train.parallel=ddp)")
    if recipe.backend == "mindspore":
        log_dir = Path(recipe.run_dir) / "msrun_logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        cmd = msrun_command(spec, worker_args, log_dir, timeout_s())
        env = msrun_env()
        log(f"mindbridge: launching {spec.nproc * spec.nnodes} MindSpore workers: {shlex.join(cmd)}")
        code, message = run_msrun(cmd, log_dir, env)
    else:
        timeout_s()  # a bad MINDBRIDGE_DIST_TIMEOUT fails here, once, rather than in every worker
        cmd = torchrun_command(spec, worker_args)
        log(f"mindbridge: launching {spec.nproc * spec.nnodes} torch workers: {shlex.join(cmd)}")
        code, message = run_torchrun(cmd)
    if code != 0:
        print(f"error: {message}", file=sys.stderr)
    return 0 if code == 0 else code if code > 0 else 1
