"""Parity probes for the torch backend: forward output, loss, gradients and every module's output.

`probe(model, batch, layers)` returns a backends.base.Probe of numpy arrays keyed by torch names;
module outputs are recorded by forward hooks in the order they fire (inner modules before the
blocks that hold them), by module path and call index. Mirrors backends/mindspore/probes.py, whose
records line up with these one for one.

    from backends.torch_npu.probes import probe
    p = probe(model, {"input_ids": x, "labels": y}, layers=True)
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from backends.base import Batch, Probe, model_loss
from backends.torch_npu import state
from core.parity.probes import ROOT, Recorder, first_array, set_attributes


def _to_numpy(t):
    return t.detach().float().cpu().numpy().copy() if isinstance(t, torch.Tensor) else None


def probe(model, batch: Batch, layers: bool = False, device: str | None = None) -> Probe:
    """Probe a torch model in its current train/eval mode; gradients are left zeroed afterwards."""
    device = device or next(model.parameters()).device
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)).to(device) for k, v in batch.items()}
    inputs = {k: v for k, v in tensors.items() if k != "labels"}
    rec = Recorder(_to_numpy)
    handles = [m.register_forward_hook(rec.hook(name or ROOT)) for name, m in model.named_modules()] if layers else []
    try:
        with torch.no_grad():
            output = _to_numpy(first_array(model(**inputs), lambda t: t))
    finally:
        for h in handles:
            h.remove()
    model.zero_grad(set_to_none=True)
    loss = model_loss(model(**tensors))
    loss.backward()
    grads = {n: p.grad.detach().float().cpu().numpy().copy() for n, p in model.named_parameters()
             if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return Probe(output=output, loss=float(loss.detach()), grads=grads, modules=rec.records)


def set_module_attributes(model, overrides: Sequence[tuple[str, str, Any]]) -> None:
    set_attributes(dict(model.named_modules()), overrides)


def train_losses(model, batches: Sequence[Batch], lr: float, weight_decay: float) -> list[float]:
    """Plain AdamW steps on `batches` (no clipping, no schedule): the loss of each step."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    model.train()
    losses = []
    for batch in batches:
        opt.zero_grad(set_to_none=True)
        loss = model_loss(model(**{k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in batch.items()}))
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


def model_state(model) -> dict[str, np.ndarray]:
    return state.state_dict(model)


def load_model_state(model, weights) -> None:
    state.load_state_dict(model, weights)
