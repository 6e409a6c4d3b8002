"""mindspore.communication for the MindSpore backend: join msrun's cluster, average gradients over ranks.

Called by MindSporeBackend's distributed hooks inside an msrun worker (mirrors
backends/torch_npu/distributed.py):
- `init_process_group`: `mindspore.communication.init()` after the backend set its device (mccl on
  CPU, hccl on Ascend, nccl on GPU; msrun exports DEVICE_ID = local rank for the device id);
- `grad_reducer`: `nn.DistributedGradReducer(mean=True)` over the weights, called on the grads
  tuple inside the (compiled) step, or None in a single process;
- `all_reduce_mean`: a float averaged over ranks, for the reported loss.

    python -m core.launch examples/llama/tiny.yaml --backend mindspore --device cpu --nproc 2
"""

from __future__ import annotations

from backends.mindspore.device import import_mindspore

ms = import_mindspore()
from mindspore import nn, ops  # noqa: E402

_world = {"size": 1}  # set once this process has joined an msrun cluster


def is_distributed() -> bool:
    return _world["size"] > 1


def init_process_group(env) -> tuple[int, int]:
    """Join msrun's cluster (its MS_TOPO_TIMEOUT, from --cluster_time_out, bounds the wait for peers);
    returns (rank, world size).

    In msrun's scheduler process, init() serves the cluster and exits the process when the job ends."""
    from core.distributed.watch import announce_msrun_worker
    from mindspore.communication import get_group_size, get_rank, init

    init()
    if env.scheduler:
        return 0, env.world_size
    rank, world = get_rank(), get_group_size()
    _world["size"] = world
    announce_msrun_worker(rank, world)
    return rank, world


def destroy_process_group(clean: bool = True) -> None:
    # msrun tears the cluster down when the workers exit; an explicit release() is not needed.
    return None


def grad_reducer(weights):
    """Mean of each gradient over ranks, as a Cell usable inside mindspore.jit; None for one process."""
    if not is_distributed():
        return None
    return nn.DistributedGradReducer(weights, mean=True, degree=_world["size"])


def all_reduce_mean(value: float) -> float:
    if not is_distributed():
        return value
    total = ops.AllReduce()(ms.Tensor([value], ms.float32))
    return float(total.asnumpy()[0]) / _world["size"]
