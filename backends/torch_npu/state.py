"""Weights and AdamW state of a torch model as numpy arrays by torch state_dict names.

The exchange format of backends/base.py: {state_dict key: array} for weights (bf16 widened to fp32)
and {"exp_avg/<param>", "exp_avg_sq/<param>", "step"} for the optimizer, so checkpoints move freely
between the backends. Sharded (FSDP2 DTensor) parameters are gathered on the way out and sharded
on the way in. Mirrors backends/mindspore/state.py.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import torch

from backends.base import BackendError
from backends.torch_npu import distributed as tdist


def to_numpy(t: torch.Tensor) -> np.ndarray:
    t = tdist.full_tensor(t.detach()).cpu()
    return (t.float() if t.dtype == torch.bfloat16 else t).numpy().copy()


def state_dict(model) -> dict[str, np.ndarray]:
    return {k: to_numpy(v) for k, v in model.state_dict().items()}


def load_state_dict(model, weights: Mapping[str, np.ndarray]) -> None:
    tensors = {k: torch.from_numpy(np.asarray(v)) for k, v in weights.items()}
    try:
        tdist.load_full_state_dict(model, tensors)
    except RuntimeError as e:
        detail = " ".join(str(e).split())
        raise BackendError(f"checkpoint does not fit the model: {detail[:300]}") from None


def optimizer_state(model, optimizer) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    step = 0
    for name, p in model.named_parameters():
        st = optimizer.state.get(p)
        if not st:
            continue
        step = int(st["step"])
        for slot in ("exp_avg", "exp_avg_sq"):
            out[f"{slot}/{name}"] = to_numpy(st[slot]).astype(np.float32)
    out["step"] = np.array(step, dtype=np.int64)
    return out


def load_optimizer_state(model, optimizer, state: Mapping[str, np.ndarray]) -> None:
    step = int(state.get("step", 0))
    for name, p in model.named_parameters():
        if f"exp_avg/{name}" not in state:
            if step and p.requires_grad:
                raise BackendError(f"optimizer state has no moments for parameter '{name}'")
            continue
        optimizer.state[p] = {
            "step": torch.tensor(float(step), dtype=torch.float32),
            "exp_avg": tdist.like(p, torch.from_numpy(np.array(state[f"exp_avg/{name}"]))),
            "exp_avg_sq": tdist.like(p, torch.from_numpy(np.array(state[f"exp_avg_sq/{name}"]))),
        }


def param_groups(named_params, weight_decay: float) -> list[dict]:
    """Weight decay on matrices only; norms, biases and other vectors are not decayed. Frozen
    parameters (requires_grad False) are left out."""
    decay, no_decay = [], []
    for _, p in named_params:
        if p.requires_grad:
            (decay if p.ndim >= 2 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
