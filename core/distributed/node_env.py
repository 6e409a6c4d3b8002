"""The multi-node variables of MindSpeed's launch scripts, read by `core.launch`.

MindSpeed-LLM/MM scripts set these before calling torchrun (or msrun):

    NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 MASTER_PORT=6000 NPUS_PER_NODE=8 python -m core.launch recipe.yaml

Each variable gives the default of one launcher flag (NNODES -> --nnodes, NODE_RANK -> --node-rank,
MASTER_ADDR -> --master-addr, MASTER_PORT -> --master-port, NPUS_PER_NODE -> --nproc). A flag given
as well must agree with its variable, otherwise it is a one-line error: silently preferring one of
the two would start a job of a size nobody asked for. ASCEND_RT_VISIBLE_DEVICES (the NPUs this node may
use) must list at least NPUS_PER_NODE devices. Inside a worker that torchrun/msrun started, none of this
applies (torchrun sets MASTER_ADDR/MASTER_PORT for its workers itself).
"""

from __future__ import annotations

from typing import Mapping

from core.errors import DistributedError

# variable -> (LaunchSpec field, the flag it stands for)
NODE_VARS = {"NNODES": ("nnodes", "--nnodes"), "NODE_RANK": ("node_rank", "--node-rank"),
             "MASTER_ADDR": ("master_addr", "--master-addr"), "MASTER_PORT": ("master_port", "--master-port"),
             "NPUS_PER_NODE": ("nproc", "--nproc")}
VISIBLE_DEVICES = "ASCEND_RT_VISIBLE_DEVICES"
DEFAULTS = {"nproc": 1, "nnodes": 1, "node_rank": 0, "master_addr": "127.0.0.1", "master_port": None}


def _int(var: str, raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise DistributedError(f"${var}={raw!r} is not an integer") from None


def launch_values(flags: Mapping[str, object], environ: Mapping[str, str]) -> tuple[dict, list[str]]:
    """(LaunchSpec keyword arguments, the variables that were used) from the flags given on the command
    line (field -> value, None where not given) and the environment."""
    values, used = dict(DEFAULTS), []
    for field, value in flags.items():
        if value is not None:
            values[field] = value
    for var, (field, flag) in NODE_VARS.items():
        raw = environ.get(var, "")
        if not raw.strip():
            continue
        env_value = raw.strip() if field == "master_addr" else _int(var, raw)
        given = flags.get(field)
        if given is not None and given != env_value:
            raise DistributedError(f"{flag} {given} conflicts with ${var}={raw.strip()}; drop the flag or unset {var}")
        values[field] = env_value
        used.append(var)
    visible = environ.get(VISIBLE_DEVICES, "").strip()
    if visible:
        devices = [d.strip() for d in visible.split(",") if d.strip()]
        for d in devices:
            _int(VISIBLE_DEVICES, d)
        if values["nproc"] > len(devices):
            source = "$NPUS_PER_NODE" if "NPUS_PER_NODE" in used else "--nproc"
            raise DistributedError(f"{source} asks for {values['nproc']} processes on this node, but "
                                   f"${VISIBLE_DEVICES}={visible} lists {len(devices)} device(s)")
    return values, used
