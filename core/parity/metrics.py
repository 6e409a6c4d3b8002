"""Error measures and tolerances for cross-backend parity (used by core.parity.run; numpy only).

Every comparison reports the max absolute difference and the relative L2 error
||a - b|| / ||b||, where b is the torch side (the reference). Tolerances bound the relative
measures, so they do not depend on the scale of a tensor; defaults depend on the recipe's
precision (docs/parity.md explains how they were chosen).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np


@dataclass(frozen=True)
class Tolerances:
    logits: float  # rel-L2 of the step-0 forward output (also each module's output with --layers)
    grads: float  # rel-L2 of each parameter's step-0 gradient
    loss: float  # |loss_ms - loss_torch| / |loss_torch| at every step (and the final eval loss)
    params: float  # rel-L2 of each parameter after the last step

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


# fp32 on CPU: measured errors are ~3e-7 (forward), ~1e-6 (grads), ~5e-7 (20-step loss), so these leave
# one to two orders of magnitude of headroom. Weights get a looser bound: AdamW turns rounding noise in a
# gradient whose true value is 0 (e.g. an attention key bias, which softmax ignores) into full-size
# updates, so such a parameter differs by its whole (tiny) value: 2.2e-4 of GPT-2's c_attn.bias after
# 10 steps. bf16/fp16 runs compare two mixed-precision implementations; their defaults bound rounding
# noise and are not measured on CPU (MindSpore has no bf16/fp16 training on CPU).
DEFAULTS: dict[str, Tolerances] = {
    "fp32": Tolerances(logits=1e-5, grads=1e-4, loss=1e-4, params=1e-3),
    "bf16": Tolerances(logits=2e-2, grads=5e-2, loss=1e-2, params=2e-2),
    "fp16": Tolerances(logits=5e-3, grads=2e-2, loss=5e-3, params=1e-2),
}


def tolerances(precision: str, **overrides: float | None) -> Tolerances:
    """The defaults for `precision`, with any non-None keyword (logits, grads, loss, params) replaced."""
    base = DEFAULTS[precision]
    return Tolerances(**{f.name: overrides.get(f.name) if overrides.get(f.name) is not None
                         else getattr(base, f.name) for f in fields(Tolerances)})


def compare(got, ref) -> dict[str, float]:
    """{'max_abs', 'rel_l2'} of `got` against the reference `ref` (float64 arithmetic)."""
    a = np.asarray(got, dtype=np.float64)
    b = np.asarray(ref, dtype=np.float64)
    if a.shape != b.shape:
        return {"max_abs": float("inf"), "rel_l2": float("inf"), "shape": [list(a.shape), list(b.shape)]}
    diff = a - b
    max_abs = float(np.max(np.abs(diff))) if diff.size else 0.0
    ref_norm = float(np.linalg.norm(b))
    diff_norm = float(np.linalg.norm(diff))
    if ref_norm == 0.0:
        rel = 0.0 if diff_norm == 0.0 else float("inf")
    else:
        rel = diff_norm / ref_norm
    return {"max_abs": max_abs, "rel_l2": rel}


def rel_diff(got: float, ref: float) -> float:
    """|got - ref| / |ref| for scalars (inf when ref is 0 and got is not)."""
    if got == ref:
        return 0.0
    return abs(got - ref) / abs(ref) if ref != 0 else float("inf")


def compare_named(got: dict[str, np.ndarray], ref: dict[str, np.ndarray], tol: float) -> dict:
    """Per-name comparison of two {name: array} maps against rel-L2 `tol`.

    Returns {'per_name': {name: {max_abs, rel_l2, ok}}, 'missing': [...], 'unexpected': [...],
    'worst': name or None, 'ok': bool}. A name present on one side only fails the check.
    """
    per = {}
    for name, value in ref.items():
        if name not in got:
            continue
        c = compare(got[name], value)
        c["ok"] = bool(c["rel_l2"] <= tol)
        per[name] = c
    missing = sorted(set(ref) - set(got))
    unexpected = sorted(set(got) - set(ref))
    worst = max(per, key=lambda n: per[n]["rel_l2"]) if per else None
    ok = all(c["ok"] for c in per.values()) and not missing and not unexpected
    return {"per_name": per, "missing": missing, "unexpected": unexpected, "worst": worst, "ok": ok}


# ---------------------------------------------------------------- checks shared by run.py and models.py


def probe_checks(t_probe, m_probe, tols: Tolerances) -> dict:
    """forward / loss0 / grads checks of two step-0 probes (backends.base.Probe), torch the reference."""
    fwd = compare(m_probe.output, t_probe.output)
    fwd["ok"] = bool(fwd["rel_l2"] <= tols.logits)
    loss_rel = rel_diff(m_probe.loss, t_probe.loss)
    return {"forward": fwd,
            "loss0": {"torch": t_probe.loss, "mindspore": m_probe.loss, "abs": abs(m_probe.loss - t_probe.loss),
                      "rel": loss_rel, "ok": bool(loss_rel <= tols.loss)},
            "grads": compare_named(m_probe.grads, t_probe.grads, tols.grads)}


def loss_check(torch_losses: list[float], ms_losses: list[float], tol: float) -> dict:
    rel = [rel_diff(b, a) for a, b in zip(torch_losses, ms_losses)]
    return {"torch": torch_losses, "mindspore": ms_losses, "rel": rel,
            "max_abs": max(abs(a - b) for a, b in zip(torch_losses, ms_losses)), "max_rel": max(rel),
            "worst_step": int(np.argmax(rel)) + 1, "ok": bool(max(rel) <= tol)}


def weights_check(ms_weights: dict[str, np.ndarray], torch_weights: dict[str, np.ndarray],
                  initial: dict[str, np.ndarray], tol: float) -> dict:
    """Per-weight comparison after training, plus drift / update: how far MindSpore's weights are from
    torch's, relative to how far torch's moved from the initial ones (float tensors only)."""
    params = compare_named(ms_weights, torch_weights, tol)
    floats = [k for k in torch_weights if torch_weights[k].dtype.kind == "f" and k in ms_weights and k in initial]
    update = np.sqrt(sum(float(np.sum((torch_weights[k].astype(np.float64) - initial[k]) ** 2)) for k in floats))
    drift = np.sqrt(sum(float(np.sum((ms_weights[k].astype(np.float64) - torch_weights[k]) ** 2)) for k in floats))
    params["drift_vs_update"] = float(drift / update) if update > 0 else 0.0
    return params
