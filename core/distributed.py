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
import shlex
import shutil
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from core.distributed_watch import run_msrun, run_torchrun

TIMEOUT_ENV = "MINDBRIDGE_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 300
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
    except BaseException:
        module.destroy_process_group(clean=False)  # no barrier: a failed peer would never reach it
        raise
    module.destroy_process_group(clean=True)


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
        if shutil.which("msrun", path=env["PATH"]) is None:
            raise DistributedError("msrun not found on PATH (it comes with MindSpore: pip install -e '.[mindspore]')")
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
