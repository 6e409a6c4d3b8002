"""Parity probes for the MindSpore backend: forward output, loss, gradients and every module's output.

Runs in PyNative, where `Cell.register_forward_hook` fires like torch's, so module records line up
one for one with backends/torch_npu/probes.py (same paths, same call order). Gradients come from
`mindspore.value_and_grad` and are keyed by torch parameter name (a tied weight under its first
name, as torch's named_parameters).

    from backends.mindspore.probes import probe
    p = probe(cell, {"input_ids": x, "labels": y}, layers=True)
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from backends.base import Batch, Probe, model_loss
from backends.mindspore.device import import_mindspore
from backends.mindspore.state import ParameterIndex
from core.parity.probes import ROOT, Recorder, first_array, set_attributes

ms = import_mindspore()


def _to_numpy(t):
    return t.asnumpy().astype(np.float32, copy=True) if isinstance(t, ms.Tensor) else None


def probe(model, batch: Batch, layers: bool = False) -> Probe:
    """Probe a converted MindSpore Cell in its current train/eval mode."""
    tensors = {k: ms.Tensor(np.ascontiguousarray(v)) for k, v in batch.items()}
    inputs = {k: v for k, v in tensors.items() if k != "labels"}
    rec = Recorder(_to_numpy)
    handles = [c.register_forward_hook(rec.hook(name or ROOT)) for name, c in model.cells_and_names()] if layers else []
    try:
        output = _to_numpy(first_array(model(**inputs), lambda t: t))
    finally:
        for h in handles:
            h.remove()
    params = model.trainable_params()
    index = ParameterIndex(model)

    def loss_fn(kwargs):
        return model_loss(model(**kwargs))

    loss, grads = ms.value_and_grad(loss_fn, None, params)(tensors)
    return Probe(output=output, loss=float(loss.asnumpy()),
                 grads={index.key_of(p): g.asnumpy().astype(np.float32) for p, g in zip(params, grads)},
                 modules=rec.records)


def set_module_attributes(model, overrides: Sequence[tuple[str, str, Any]]) -> None:
    set_attributes(dict(model.cells_and_names()), overrides)


def train_losses(model, batches: Sequence[Batch], lr: float, weight_decay: float) -> list[float]:
    """Plain AdamW steps on `batches` (mindspore.experimental.optim.AdamW, torch's semantics): step losses."""
    from mindspore.experimental.optim import AdamW

    params = model.trainable_params()
    opt = AdamW(params, lr=lr, weight_decay=weight_decay)
    model.set_train(True)
    grad_fn = ms.value_and_grad(lambda kwargs: model_loss(model(**kwargs)), None, params)
    losses = []
    for batch in batches:
        loss, grads = grad_fn({k: ms.Tensor(np.ascontiguousarray(v)) for k, v in batch.items()})
        opt(grads)
        losses.append(float(loss.asnumpy()))
    return losses


def model_state(model) -> dict[str, np.ndarray]:
    return ParameterIndex(model).state_dict()


def load_model_state(model, weights) -> None:
    ParameterIndex(model).load_state_dict(weights)
