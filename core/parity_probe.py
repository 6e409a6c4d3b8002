"""Step-0 probes for parity: forward output, loss, per-parameter gradients and (optionally) every
module's forward output, from a torch nn.Module and from its converted MindSpore Cell.

Both sides take the same numpy inputs and return a `Probe` of numpy arrays keyed the same way:
gradients by torch parameter name (a tied weight under its first name, as torch's
named_parameters), module outputs by torch module path (`layers.1.ffn_norm`) and call index, in
the order the forward hooks fire (a module's output is recorded when its forward returns, so inner
modules come before the blocks that contain them). The MindSpore side runs in PyNative, where
`Cell.register_forward_hook` fires like torch's. Frameworks are imported inside the functions.

    from core.parity_probe import torch_probe, mindspore_probe
    t = torch_probe(torch_model, x, y, layers=True)
    m = mindspore_probe(ms_cell, x, y, layers=True)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ROOT = "(model)"  # the name used for the top-level module's own output


@dataclass
class Probe:
    output: np.ndarray  # forward(inputs) without labels: logits
    loss: float  # forward(inputs, labels)
    grads: dict[str, np.ndarray]  # d loss / d parameter, by torch parameter name
    modules: list[tuple[str, int, np.ndarray]] = field(default_factory=list)  # (module path, call #, output)


def _first_array(value, to_numpy):
    """The tensor a module returned, or the first tensor of a returned tuple/list; None otherwise."""
    if isinstance(value, (tuple, list)):
        for v in value:
            arr = _first_array(v, to_numpy)
            if arr is not None:
                return arr
        return None
    return to_numpy(value)


class _Recorder:
    def __init__(self, to_numpy):
        self.to_numpy = to_numpy
        self.calls: dict[str, int] = {}
        self.records: list[tuple[str, int, np.ndarray]] = []

    def hook(self, name):
        def fn(module, args, output):
            arr = _first_array(output, self.to_numpy)
            if arr is not None:
                n = self.calls.get(name, 0)
                self.calls[name] = n + 1
                self.records.append((name, n, arr))
            return None

        return fn


def _loss_of(out):
    return out[1] if isinstance(out, (tuple, list)) else out


def torch_probe(model, inputs: np.ndarray, labels: np.ndarray, layers: bool = False) -> Probe:
    """Probe a torch model in its current train/eval mode; gradients are left zeroed afterwards."""
    import torch

    def to_numpy(t):
        return t.detach().float().cpu().numpy().copy() if isinstance(t, torch.Tensor) else None

    device = next(model.parameters()).device
    x = torch.from_numpy(np.ascontiguousarray(inputs)).to(device)
    y = torch.from_numpy(np.ascontiguousarray(labels)).to(device)
    rec = _Recorder(to_numpy)
    handles = []
    if layers:
        for name, module in model.named_modules():
            handles.append(module.register_forward_hook(rec.hook(name or ROOT)))
    try:
        with torch.no_grad():
            output = to_numpy(_first_array(model(x), lambda t: t))
    finally:
        for h in handles:
            h.remove()
    model.zero_grad(set_to_none=True)
    loss = _loss_of(model(x, labels=y))
    loss.backward()
    grads = {n: p.grad.detach().float().cpu().numpy().copy() for n, p in model.named_parameters()
             if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return Probe(output=output, loss=float(loss.detach()), grads=grads, modules=rec.records)


def mindspore_probe(model, inputs: np.ndarray, labels: np.ndarray, layers: bool = False) -> Probe:
    """Probe a converted MindSpore Cell (PyNative) the same way as torch_probe."""
    import mindspore as ms

    from backends.mindspore.state import ParameterIndex

    def to_numpy(t):
        return t.asnumpy().astype(np.float32, copy=True) if isinstance(t, ms.Tensor) else None

    x = ms.Tensor(np.ascontiguousarray(inputs))
    y = ms.Tensor(np.ascontiguousarray(labels))
    rec = _Recorder(to_numpy)
    handles = []
    if layers:
        for name, cell in model.cells_and_names():
            handles.append(cell.register_forward_hook(rec.hook(name or ROOT)))
    try:
        output = to_numpy(_first_array(model(x), lambda t: t))
    finally:
        for h in handles:
            h.remove()
    params = model.trainable_params()
    index = ParameterIndex(model)

    def loss_fn(a, b):
        return _loss_of(model(a, b))

    loss, grads = ms.value_and_grad(loss_fn, None, params)(x, y)
    return Probe(output=output, loss=float(loss.asnumpy()),
                 grads={index.key_of(p): g.asnumpy().astype(np.float32) for p, g in zip(params, grads)},
                 modules=rec.records)
