"""torch.distributed for the torch backend: process group per device, DDP or FSDP2, cross-rank means.

Called by TorchBackend's distributed hooks inside a torchrun worker (mirrored by
backends/mindspore/distributed.py):
- `init_process_group`: gloo on CPU, nccl on CUDA, hccl on NPU (torch_npu), each rank on
  device LOCAL_RANK, with MINDBRIDGE_DIST_TIMEOUT as the collective timeout;
- `wrap_model`: DistributedDataParallel (`train.parallel: ddp`) or FSDP2 `fully_shard` (`fsdp`) when a
  process group is up, the model itself otherwise; gradients come out averaged over ranks;
- helpers the runtime calls so the same code serves sharded (DTensor) and plain tensors.

    torchrun --nproc_per_node 2 -m core.launch examples/llama/tiny.yaml --device cpu
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

import torch
import torch.distributed as dist

from backends.base import BackendError

PROCESS_GROUP_BACKENDS = {"cpu": "gloo", "cuda": "nccl", "npu": "hccl"}


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def init_process_group(device: str, description: str, env, timeout_s: int) -> tuple[str, str, int, int]:
    """Join the process group on this rank's device; returns (device, description, rank, world size)."""
    device_type = device.split(":")[0]
    if device_type not in PROCESS_GROUP_BACKENDS:
        raise BackendError(f"no torch.distributed backend for device '{device}'")
    if device_type != "cpu":
        count = getattr(torch, device_type).device_count()
        if env.local_rank >= count:
            raise BackendError(f"local rank {env.local_rank} has no {device_type} device ({count} visible); "
                               f"use --nproc <= {count} per node")
        local = f"{device_type}:{env.local_rank}"
        getattr(torch, device_type).set_device(local)
        description = description.replace(device, local, 1)
        device = local
    pg = PROCESS_GROUP_BACKENDS[device_type]
    dist.init_process_group(pg, timeout=timedelta(seconds=timeout_s))
    description += f", rank {dist.get_rank()}/{dist.get_world_size()} ({pg})"
    return device, description, dist.get_rank(), dist.get_world_size()


def destroy_process_group(clean: bool = True) -> None:
    """Leave the process group. After a normal run every rank first meets at a barrier: a rank that
    tore gloo down while a peer was still in its last collective (FSDP's state gather) made that peer
    abort with "terminate called without an active exception" (seen in CI)."""
    if dist.is_available() and dist.is_initialized():
        if clean:
            dist.barrier()
        dist.destroy_process_group()


def wrap_model(model, parallel: str):
    """The module to train: DDP / FSDP2 over `model` when distributed, else `model` itself.

    DDP keeps `model`'s parameters (state_dict keys stay unprefixed when read from `model`); FSDP2
    shards them in place into DTensors, so build the optimizer after this call."""
    if not is_distributed():
        return model
    if parallel == "fsdp":
        from torch.distributed.fsdp import fully_shard

        for block in _blocks(model):
            fully_shard(block)
        return fully_shard(model)
    from torch.nn.parallel import DistributedDataParallel

    device = next(model.parameters()).device
    ids = [device.index] if device.type in ("cuda", "npu") else None
    # an image-text model's vision tower has no gradient on a rank whose batch holds no image
    unused = bool(getattr(model, "inputs_may_skip_parameters", False))
    return DistributedDataParallel(model, device_ids=ids, find_unused_parameters=unused)


def _blocks(model) -> list:
    """Repeated transformer blocks (the children of a ModuleList), sharded one by one as FSDP2 advises."""
    return [m for lst in model.modules() if isinstance(lst, torch.nn.ModuleList) for m in lst]


def no_sync(train_model, sync: bool):
    """Skip DDP's all-reduce on all but the last micro-batch of a step (FSDP2/single: no-op)."""
    if not sync and hasattr(train_model, "no_sync"):
        return train_model.no_sync()
    return contextlib.nullcontext()


def all_reduce_mean(value: float, device: str) -> float:
    """Mean of a Python float over ranks (the identity for one process)."""
    if not is_distributed():
        return value
    t = torch.tensor([value], dtype=torch.float64 if device.startswith("cpu") else torch.float32, device=device)
    dist.all_reduce(t)
    return float(t[0]) / dist.get_world_size()


def full_tensor(t):
    """A plain tensor: DTensors (FSDP2 shards) are gathered, anything else is returned as is."""
    return t.full_tensor() if hasattr(t, "full_tensor") else t


def like(param, value: torch.Tensor) -> torch.Tensor:
    """`value` (a full tensor) placed like `param`: on its device, and sharded the same way for a DTensor."""
    if hasattr(param, "device_mesh"):
        from torch.distributed.tensor import distribute_tensor

        return distribute_tensor(value.to(dtype=param.dtype), param.device_mesh, param.placements)
    return value.to(param.device, param.dtype)


def load_full_state_dict(model, tensors: dict[str, torch.Tensor]) -> None:
    """model.load_state_dict(strict=True) for full tensors, also into an FSDP2-sharded model."""
    if any(hasattr(p, "device_mesh") for p in model.parameters()):
        from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict

        missing = set(model.state_dict()) ^ set(tensors)
        if missing:
            raise RuntimeError(f"missing or unexpected keys: {sorted(missing)[:5]}")
        set_model_state_dict(model, tensors, options=StateDictOptions(full_state_dict=True, strict=True))
        return
    model.load_state_dict(tensors, strict=True)
