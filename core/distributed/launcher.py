"""The launcher side of a distributed run: `core.launch --nproc N` starts torchrun or msrun.

The backend's capabilities name its launcher; this builds that command line (printed before it
runs), re-runs `core.launch` under it, watches the run (core/distributed/watch.py) and, when a rank
dies, stops the whole run with one clear message (for msrun, with the failing worker's log tail).
Imports no framework.

    python -m core.launch examples/llama/tiny.yaml --nproc 2                      # torchrun
    python -m core.launch examples/llama/tiny.yaml --backend mindspore --nproc 2  # msrun
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from core.distributed.watch import Stopped, run_msrun, run_torchrun
from core.distributed.worker import NODE_RANK_ENV, parallel_error, timeout_s
from core.errors import DistributedError


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


def msrun_log_dir(run_dir: str | Path, spec: LaunchSpec) -> Path:
    """<run_dir>/msrun_logs, and one folder per node under it when there are several (msrun_logs/node_N):
    nodes that share a run folder (one host, or a shared file system) would otherwise write one
    scheduler.log, which msrun opens for writing on every node whose --master_addr is its own."""
    base = Path(run_dir) / "msrun_logs"
    return base / f"node_{spec.node_rank}" if spec.nnodes > 1 else base


def msrun_env(python: str = sys.executable, environ=None, node_rank: int = 0) -> dict[str, str]:
    """msrun starts workers with `python` from PATH: put this interpreter's bin/ first so they use it.
    NODE_RANK_ENV tells msrun's processes this node's rank (see worker.spare_scheduler)."""
    env = dict(os.environ if environ is None else environ)
    env["PATH"] = os.pathsep.join([str(Path(python).parent), env.get("PATH", "")])
    env[NODE_RANK_ENV] = str(node_rank)
    # msrun reports a dead worker in an ERROR log line, which spawn() watches for: at most level 3
    level = env.get("GLOG_v", "")
    env["GLOG_v"] = level if level.isdigit() and int(level) < 3 else "3"
    return env


def spawn(recipe, spec: LaunchSpec, worker_args: list[str], log=print) -> int:
    """Run `core.launch` with `worker_args` on spec.nproc processes under torchrun or msrun.

    Prints the command first; returns the launcher's exit code, after printing a one-line reason
    (plus the failing worker's log tail for msrun) to stderr when the run failed."""
    from core.registry import capabilities

    spec.check()
    caps = capabilities(recipe.backend)
    if recipe.train.parallel not in caps.parallel:
        raise DistributedError(parallel_error(recipe.backend, recipe.train.parallel, caps))
    try:
        if caps.launcher == "msrun":
            log_dir = msrun_log_dir(recipe.run_dir, spec)
            log_dir.mkdir(parents=True, exist_ok=True)
            cmd = msrun_command(spec, worker_args, log_dir, timeout_s())
            env = msrun_env(node_rank=spec.node_rank)
            if shutil.which("msrun", path=env["PATH"]) is None:
                raise DistributedError("msrun not found on PATH (it comes with MindSpore: pip install -e '.[mindspore]')")
            log(f"mindbridge: launching {spec.nproc * spec.nnodes} {recipe.backend} workers: {shlex.join(cmd)}")
            code, message = run_msrun(cmd, log_dir, env)
        else:
            timeout_s()  # a bad MINDBRIDGE_DIST_TIMEOUT fails here, once, rather than in every worker
            cmd = torchrun_command(spec, worker_args)
            log(f"mindbridge: launching {spec.nproc * spec.nnodes} {recipe.backend} workers: {shlex.join(cmd)}")
            code, message = run_torchrun(cmd)
    except Stopped as e:
        print(f"error: stopped by {e} (passed on to {caps.launcher}, which stopped the workers)", file=sys.stderr)
        return 128 + e.signum
    if code != 0:
        print(f"error: {message}", file=sys.stderr)
    return 0 if code == 0 else code if code > 0 else 1
