"""Parity of a model pair outside any recipe: a torch nn.Module and its converted MindSpore Cell, fed
batches (named numpy arrays) directly. For converted third-party code, or a module under test.

Same checks and report layout as core/parity/run.py (step-0 forward, loss, per-parameter
gradients, optionally every module's output; then one plain AdamW step per batch on both sides:
per-step loss and every weight and buffer afterwards), so core.parity.report.write_report renders
it. The framework work is done by each backend's probes and state modules (backends/*/probes.py).

    from core.parity.models import copy_weights, compare_models
    copy_weights(torch_model, ms_model)                                 # the same starting point
    rep = compare_models(torch_model, ms_model, batches, lr=1e-3)       # batches: [{"input_ids": ..}, ..]
"""

from __future__ import annotations

from core.batch import describe
from core.parity.metrics import loss_check, probe_checks, tolerances, weights_check
from core.parity.probes import compare_layers
from core.registry import backend_module


def copy_weights(torch_model, ms_model) -> None:
    """Load the torch model's state_dict (parameters and persistent buffers) into the MindSpore model."""
    backend_module("mindspore", "probes").load_model_state(ms_model, backend_module("torch", "probes").model_state(
        torch_model))


def compare_models(torch_model, ms_model, batches, *, lr: float = 1e-3, weight_decay: float = 0.0,
                   layers: bool = True, precision: str = "fp32", name: str = "model") -> dict:
    """Step-0 probe on batches[0], then len(batches) AdamW steps on both; a core.parity-style report."""
    t_probes, m_probes = backend_module("torch", "probes"), backend_module("mindspore", "probes")
    tols = tolerances(precision)
    torch_model.train()
    ms_model.set_train(True)  # a Cell starts in eval mode (torch modules in train mode): BatchNorm would differ
    w0 = t_probes.model_state(torch_model)
    tp = t_probes.probe(torch_model, batches[0], layers=layers)
    mp = m_probes.probe(ms_model, batches[0], layers=layers)
    # the probes ran forward passes in train mode (BatchNorm statistics moved): start the steps from w0 again
    t_probes.load_model_state(torch_model, w0)
    copy_weights(torch_model, ms_model)
    checks = probe_checks(tp, mp, tols)
    if layers:
        checks["layers"] = compare_layers(tp.modules, mp.modules, tols.logits)
    lt = t_probes.train_losses(torch_model, batches, lr, weight_decay)
    lm = m_probes.train_losses(ms_model, batches, lr, weight_decay)
    checks["losses"] = loss_check(lt, lm, tols.loss)
    # parameters and buffers (BatchNorm statistics too)
    checks["params"] = weights_check(m_probes.model_state(ms_model), t_probes.model_state(torch_model), w0, tols.params)
    failed = [k for k, v in checks.items() if not v["ok"]]
    return {"recipe": name, "steps": len(batches), "precision": precision,
            "devices": {"torch": "torch (direct)", "mindspore": "mindspore PyNative (direct)"},
            "batch": describe(batches[0]), "init": "the torch model's weights", "tolerances": tols.to_dict(),
            "checks": checks, "failed": failed, "ok": not failed, "timing_s": {}}
