"""Train a recipe on a backend: the command users type.

    python -m core.launch examples/llama/tiny.yaml                       # torch, device auto
    python -m core.launch examples/llama/tiny.yaml --backend mindspore
    python -m core.launch RECIPE --device cpu --set train.steps=50 --set optim.lr=3e-4
    python -m core.launch RECIPE --print-recipe                          # show the resolved recipe
    python -m core.launch RECIPE --nproc 2                               # data parallel via torchrun/msrun

`--ai-framework {pytorch,mindspore}` (MindSpeed's spelling) is an alias of `--backend`.
Python API: `core.train("recipe.yaml", backend="torch", overrides={"train.steps": 50})`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from core.errors import UserError
from core.lifeline import stop_with_launcher
from core.recipe import Recipe, dump_recipe, load_recipe
from core.registry import create_backend

BACKEND_ENV = "MINDBRIDGE_BACKEND"


def user_errors() -> tuple[type[BaseException], ...]:
    """Errors that are the user's to fix: printed as one line, no traceback."""
    return (UserError, FileNotFoundError)


def resolve_recipe(path: str, backend: str | None = None, device: str | None = None,
                   overrides: list[str] | dict[str, Any] | None = None, environ=None) -> Recipe:
    """Recipe file + overrides. Precedence, highest first: the `backend`/`device` arguments (the
    --backend/--device flags) > `overrides` (--set) > MINDBRIDGE_BACKEND > the recipe file > defaults.
    Every route ends in one validation, so a bad value gives the same error whichever way it came."""
    if isinstance(overrides, dict):
        overrides = [f"{k}={v}" for k, v in overrides.items()]
    env = os.environ if environ is None else environ
    quoted = json.dumps  # a JSON string is a YAML string: the value is taken as text, never as YAML
    layered = [f"backend={quoted(env[BACKEND_ENV])}"] if env.get(BACKEND_ENV) else []
    layered += list(overrides or [])
    layered += [f"backend={quoted(backend)}"] if backend else []
    layered += [f"device={quoted(device)}"] if device else []
    return load_recipe(path, layered)


def train(recipe: str | Recipe, backend: str | None = None, device: str | None = None,
          overrides: list[str] | dict[str, Any] | None = None, progress: bool = False, log=print) -> dict:
    """Run one recipe and return the run summary as a dict (losses, final_loss, eval_loss, ...)."""
    from core import distributed
    from core.trainer import Trainer

    r = recipe if isinstance(recipe, Recipe) else resolve_recipe(recipe, backend, device, overrides)
    b = create_backend(r)
    with distributed.worker(b) as env:  # joins the process group under torchrun/msrun; no-op otherwise
        if env.scheduler:
            return {}
        return Trainer(r, b, world_size=env.world_size, rank=env.rank, progress=progress, log=log).run().to_dict()


def _exit_torchrun_worker() -> None:
    """End a torchrun worker whose run is complete (checkpoint written, process group left) without
    the interpreter's shutdown: there, threads torch's c10d/gloo leave behind aborted about 1 run in
    14 here with "terminate called without an active exception" (SIGABRT), which torchrun reports
    as a failed run."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


MINDSPEED_SWITCHES = {"--no-load-optim": "checkpoint.load_optimizer", "--no-load-rng": "checkpoint.load_rng",
                      "--no-save-optim": "checkpoint.save_optimizer"}


def switch_overrides(args) -> list[str]:
    """--set overrides for the MindSpeed-named flags."""
    out = [f"{key}=false" for flag, key in MINDSPEED_SWITCHES.items() if getattr(args, flag[2:].replace("-", "_"))]
    return out + ([f"train.save_every={args.save_interval}"] if args.save_interval is not None else [])


def build_parser(prog: str = "python -m core.launch") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Train a mindbridge recipe on torch or MindSpore.")
    p.add_argument("recipe", help="path to a recipe YAML (e.g. examples/llama/tiny.yaml)")
    p.add_argument("--backend", "--ai-framework", dest="backend", default=None,
                   help="torch | mindspore (aliases: pytorch, torch_npu, ms); default: --set backend=, "
                        "then $MINDBRIDGE_BACKEND, then the recipe, then torch")
    p.add_argument("--device", default=None, choices=["auto", "cpu", "cuda", "gpu", "npu"],
                   help="default: the recipe's device (auto: NPU, else CUDA, else CPU)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe key, e.g. --set train.steps=50 (repeatable)")
    p.add_argument("--out", default=None, help="run folder (same as --set train.out_dir=...)")
    p.add_argument("--no-progress", action="store_true", help="log lines only, no progress bar")
    m = p.add_argument_group("MindSpeed names (each is a recipe key)")
    for flag, key in MINDSPEED_SWITCHES.items():
        m.add_argument(flag, action="store_true", help=f"--set {key}=false")
    m.add_argument("--save-interval", type=int, default=None, metavar="N", help="--set train.save_every=N")
    m.add_argument("--log-tps", action="store_true", help="accepted for MindSpeed scripts: tokens/s is always logged")
    p.add_argument("--print-recipe", action="store_true", help="print the resolved recipe and exit")
    d = p.add_argument_group("multi-process (docs/distributed.md)")
    d.add_argument("--nproc", type=int, default=None,
                   help="processes on this node: spawns torchrun (msrun for mindspore); default $NPUS_PER_NODE, else 1")
    d.add_argument("--nnodes", type=int, default=None,
                   help="number of nodes (run the same command on each); default $NNODES, else 1")
    d.add_argument("--node-rank", type=int, default=None, help="this node's index, 0..nnodes-1; default $NODE_RANK, else 0")
    d.add_argument("--master-addr", default=None, help="address of node 0; default $MASTER_ADDR, else 127.0.0.1")
    d.add_argument("--master-port", type=int, default=None,
                   help="port on node 0; default $MASTER_PORT, else a free one on one node")
    return p


def _launch_spec(args, env):
    """The launcher flags, with MindSpeed's NNODES/NODE_RANK/MASTER_ADDR/MASTER_PORT/NPUS_PER_NODE as their
    defaults (core/distributed/node_env.py); inside a worker only the flags count."""
    from core import distributed
    from core.distributed.node_env import launch_values

    flags = {"nproc": args.nproc, "nnodes": args.nnodes, "node_rank": args.node_rank, "master_addr": args.master_addr,
             "master_port": args.master_port}
    values, used = launch_values(flags, {} if env.active else os.environ)
    if used:
        print(f"mindbridge: from the environment: {', '.join(f'{v}={os.environ[v]}' for v in used)}", flush=True)
    spec = distributed.LaunchSpec(**values)
    spec.check()
    return spec


def main(argv: list[str] | None = None, prog: str = "python -m core.launch") -> int:
    from core import distributed

    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(prog).parse_args(argv)
    overrides = switch_overrides(args) + list(args.overrides) + ([f"train.out_dir={args.out}"] if args.out else [])
    env = distributed.detect_env()
    if env.scheduler and distributed.spare_scheduler():
        return 0  # a second msrun scheduler, on node N > 0 sharing node 0's host: node 0's serves the job
    where = f"rank {env.rank}: " if env.active else ""
    if env.active:  # a worker of `core.launch --nproc`: stop as soon as that launcher is gone
        stop_with_launcher(prefix=where)
    try:
        r = resolve_recipe(args.recipe, args.backend, args.device, overrides)
        if args.print_recipe:
            print(dump_recipe(r), end="")
            return 0
        spec = _launch_spec(args, env)
        if spec.multi_process:
            if env.active:
                raise distributed.DistributedError(f"already running under {env.launcher}; drop --nproc/--nnodes")
            return distributed.spawn(r, spec, distributed.strip_launch_flags(argv), log=lambda s: print(s, flush=True))
        train(r, progress=not args.no_progress and sys.stderr.isatty(), log=print)
        if env.launcher == "torchrun":
            _exit_torchrun_worker()
    except user_errors() as e:
        print(f"error: {where}{e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
