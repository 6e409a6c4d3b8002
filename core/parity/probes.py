"""The framework-neutral half of the parity probes: recording module outputs and lining them up.

Each backend's probes module (backends/<name>/probes.py) runs one forward/backward and returns a
backends.base.Probe; both record module outputs with a `Recorder` from forward hooks, keyed by the
torch module path (`layers.1.ffn_norm`) and call index, in the order the hooks fire (a module's
output is recorded when its forward returns, so inner modules come before the blocks that hold
them). `compare_layers` aligns the two records and names the first module that diverges.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.errors import ParityError
from core.parity.metrics import compare

ROOT = "(model)"  # the name used for the top-level module's own output


def first_array(value, to_numpy):
    """The tensor a module returned: itself, a dict's 'logits' (else its first tensor), or the first
    tensor of a tuple/list; None when there is none."""
    if isinstance(value, Mapping):
        value = [value["logits"]] if "logits" in value else list(value.values())
    if isinstance(value, (tuple, list)):
        for v in value:
            arr = first_array(v, to_numpy)
            if arr is not None:
                return arr
        return None
    return to_numpy(value)


class Recorder:
    """Forward-hook factory that keeps (module path, call #, output as numpy) in firing order."""

    def __init__(self, to_numpy):
        self.to_numpy = to_numpy
        self.calls: dict[str, int] = {}
        self.records: list[tuple[str, int, object]] = []

    def hook(self, name):
        def fn(module, args, output):
            arr = first_array(output, self.to_numpy)
            if arr is not None:
                n = self.calls.get(name, 0)
                self.calls[name] = n + 1
                self.records.append((name, n, arr))
            return None

        return fn


def compare_layers(t_records, m_records, tol: float) -> dict:
    """Align module outputs by (path, call #) in torch's order; the first beyond `tol` is named."""
    ms_by_key = {(name, call): arr for name, call, arr in m_records}
    modules, missing, first = [], [], None
    for name, call, ref in t_records:
        got = ms_by_key.get((name, call))
        if got is None:
            missing.append(name)
            continue
        c = compare(got, ref)
        ok = bool(c["rel_l2"] <= tol)
        modules.append({"name": name, "call": call, "shape": list(ref.shape), **c, "ok": ok})
        if not ok and first is None:
            first = name
    return {"modules": modules, "first_divergent": first, "missing": sorted(set(missing)),
            "ok": first is None and not missing}


def set_attributes(modules: Mapping[str, object], overrides) -> None:
    """Set each (module path, attribute, value) of `overrides` on `modules` ({path: module}, a model's
    named modules): a deliberate difference on one side, for debugging a parity failure."""
    for path, attr, value in overrides:
        module = modules.get(path)
        if module is None:
            raise ParityError(f"--ms-override: the model has no module '{path}'")
        if not hasattr(module, attr):
            raise ParityError(f"--ms-override: module '{path}' ({type(module).__name__}) has no attribute '{attr}'")
        setattr(module, attr, value)
