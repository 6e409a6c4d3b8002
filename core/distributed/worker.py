"""The worker side of a distributed run: where this process sits, and joining the process group.

`detect_env()` reads what torchrun (RANK, WORLD_SIZE, LOCAL_RANK) or msrun (MS_ROLE, MS_WORKER_NUM,
RANK_ID, DEVICE_ID) exported; `worker(backend)` joins the run's process group through the backend's
distributed hooks (backends/base.py) and leaves it when the run ends. Imports no framework.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Iterator

from core.errors import DistributedError

TIMEOUT_ENV = "MINDBRIDGE_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 300
NODE_RANK_ENV = "MINDBRIDGE_NODE_RANK"  # this node's rank, exported by core.launch to msrun's processes


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


def spare_scheduler(environ=None) -> bool:
    """True in an msrun scheduler process on a node other than node 0, which has nothing to do.

    msrun starts a scheduler on every node whose --master_addr is one of its own addresses, whatever
    --node_rank says. Nodes on one host (NNODES=2, MASTER_ADDR=127.0.0.1) thus each start one; all but
    the first to bind the port fail, and with them their node's msrun. Node 0's scheduler serves the job,
    so the others exit at once (status 0)."""
    env = os.environ if environ is None else environ
    return env.get("MS_ROLE") == "MS_SCHED" and _int_env(env, NODE_RANK_ENV, 0) > 0


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
    expected = backend.capabilities.launcher
    if env.launcher != expected:
        raise DistributedError(f"the {backend.name} backend runs multi-process under {expected}, but this process "
                               f"was started by {env.launcher}; use: python -m core.launch RECIPE "
                               f"--backend {backend.name} --nproc N")
    if backend.recipe.train.parallel not in backend.capabilities.parallel:
        raise DistributedError(parallel_error(backend.name, backend.recipe.train.parallel, backend.capabilities))
    rank, world = backend.init_process_group(env, timeout_s())
    joined = DistEnv(env.launcher, rank=rank, world_size=world, local_rank=env.local_rank, scheduler=env.scheduler)
    try:
        yield joined
    except BaseException:
        backend.destroy_process_group(clean=False)  # no barrier: a failed peer would never reach it
        raise
    backend.destroy_process_group(clean=True)


def parallel_error(backend: str, parallel: str, caps) -> str:
    return (f"train.parallel={parallel} is not supported by the {backend} backend "
            f"(it runs: {', '.join(caps.parallel)})")
