"""Parity for a model pair a recipe cannot drive (e.g. an image classifier): a torch nn.Module and
its converted MindSpore Cell, fed numpy batches directly.

Same checks and report layout as core.parity (step-0 forward, loss, per-parameter gradients,
optionally every module's output; then N AdamW steps on both sides: per-step loss and every weight
and buffer afterwards), so `core.parity_report.write_report` renders it. torch.optim.AdamW is
matched by mindspore.experimental.optim.AdamW (the MindSpore backend's optimizer).

    from core.parity_models import copy_weights, compare_models
    copy_weights(torch_model, ms_model)                    # the same starting point
    rep = compare_models(torch_model, ms_model, batches, lr=1e-3)   # batches: [(inputs, labels), ...]
"""

from __future__ import annotations

import numpy as np

from core.parity_metrics import compare, compare_named, rel_diff, tolerances


def _ms_entries(ms_model):
    from backends.mindspore.state import ParameterIndex

    return ParameterIndex(ms_model).entries


def copy_weights(torch_model, ms_model) -> None:
    """Load the torch model's state_dict (parameters and persistent buffers) into the MindSpore model."""
    import mindspore as ms

    sd = {k: v.detach().cpu().numpy() for k, v in torch_model.state_dict().items()}
    entries = _ms_entries(ms_model)
    if sorted(entries) != sorted(sd):
        raise ValueError(f"state_dict keys differ: only torch {sorted(set(sd) - set(entries))[:5]}, "
                         f"only mindspore {sorted(set(entries) - set(sd))[:5]}")
    for key, entry in entries.items():
        if isinstance(entry, tuple):  # a buffer: Cell.__setattr__ refuses to replace one, so go to the dict
            cell, name = entry
            cell._buffers[name] = ms.Tensor(sd[key])
        else:
            ms.ops.assign(entry, ms.Tensor(sd[key].astype(entry.asnumpy().dtype)))


def ms_state(ms_model) -> dict[str, np.ndarray]:
    out = {}
    for key, entry in _ms_entries(ms_model).items():
        value = getattr(*entry) if isinstance(entry, tuple) else entry
        out[key] = value.asnumpy().copy()
    return out


def torch_train(model, batches, lr: float, weight_decay: float) -> list[float]:
    import torch

    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    model.train()
    losses = []
    for x, y in batches:
        opt.zero_grad(set_to_none=True)
        out = model(torch.from_numpy(x), labels=torch.from_numpy(y))
        loss = out[1] if isinstance(out, (tuple, list)) else out
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


def mindspore_train(model, batches, lr: float, weight_decay: float) -> list[float]:
    import mindspore as ms
    from mindspore.experimental.optim import AdamW

    params = model.trainable_params()
    opt = AdamW(params, lr=lr, weight_decay=weight_decay)
    model.set_train(True)

    def loss_fn(a, b):
        out = model(a, b)
        return out[1] if isinstance(out, (tuple, list)) else out

    grad_fn = ms.value_and_grad(loss_fn, None, params)
    losses = []
    for x, y in batches:
        loss, grads = grad_fn(ms.Tensor(x), ms.Tensor(y))
        opt(grads)
        losses.append(float(loss.asnumpy()))
    return losses


def compare_models(torch_model, ms_model, batches, *, lr: float = 1e-3, weight_decay: float = 0.0,
                   layers: bool = True, precision: str = "fp32", name: str = "model") -> dict:
    """Step-0 probe on batches[0], then len(batches) AdamW steps on both; a core.parity-style report."""
    import torch

    from core.parity import compare_layers
    from core.parity_probe import mindspore_probe, torch_probe

    tols = tolerances(precision)
    torch_model.train()
    ms_model.set_train(True)  # a Cell starts in eval mode (torch modules in train mode): BatchNorm would differ
    w0 = {k: v.detach().cpu().numpy().copy() for k, v in torch_model.state_dict().items()}
    x0, y0 = batches[0]
    tp = torch_probe(torch_model, x0, y0, layers=layers)
    mp = mindspore_probe(ms_model, x0, y0, layers=layers)
    # the probes ran forward passes in train mode (BatchNorm statistics moved): start the steps from w0 again
    torch_model.load_state_dict({k: torch.from_numpy(v) for k, v in w0.items()})
    copy_weights(torch_model, ms_model)
    fwd = compare(mp.output, tp.output)
    fwd["ok"] = bool(fwd["rel_l2"] <= tols.logits)
    loss_rel = rel_diff(mp.loss, tp.loss)
    checks = {"forward": fwd,
              "loss0": {"torch": tp.loss, "mindspore": mp.loss, "abs": abs(mp.loss - tp.loss), "rel": loss_rel,
                        "ok": bool(loss_rel <= tols.loss)},
              "grads": compare_named(mp.grads, tp.grads, tols.grads)}
    if layers:
        checks["layers"] = compare_layers(tp.modules, mp.modules, tols.logits)
    lt = torch_train(torch_model, batches, lr, weight_decay)
    lm = mindspore_train(ms_model, batches, lr, weight_decay)
    rel = [rel_diff(b, a) for a, b in zip(lt, lm)]
    checks["losses"] = {"torch": lt, "mindspore": lm, "rel": rel, "max_abs": max(abs(a - b) for a, b in zip(lt, lm)),
                        "max_rel": max(rel), "worst_step": int(np.argmax(rel)) + 1, "ok": bool(max(rel) <= tols.loss)}
    wt = {k: v.detach().cpu().numpy() for k, v in torch_model.state_dict().items()}
    wm = ms_state(ms_model)
    params = compare_named(wm, wt, tols.params)  # parameters and buffers (BatchNorm statistics too)
    floats = [k for k in wt if wt[k].dtype.kind == "f" and k in wm]
    update = np.sqrt(sum(float(np.sum((wt[k].astype(np.float64) - w0[k]) ** 2)) for k in floats))
    drift = np.sqrt(sum(float(np.sum((wm[k].astype(np.float64) - wt[k]) ** 2)) for k in floats))
    params["drift_vs_update"] = float(drift / update) if update > 0 else 0.0
    checks["params"] = params
    failed = [k for k, v in checks.items() if not v["ok"]]
    return {"recipe": name, "steps": len(batches), "precision": precision,
            "devices": {"torch": "torch (direct)", "mindspore": "mindspore PyNative (direct)"},
            "batch_shape": list(np.shape(x0)), "init": "the torch model's weights", "tolerances": tols.to_dict(),
            "checks": checks, "failed": failed, "ok": not failed, "timing_s": {}}
