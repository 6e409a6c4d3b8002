"""torch_npu fused-kernel routing on Ascend NPUs, switched on by the recipe (train.fused_kernels).

Applied only when torch_npu really works (an NPU is visible); elsewhere apply() changes nothing
and the manager records why. Every patch is a wrapper: NPU tensors go to the fused kernel, the
rest to the original, so results elsewhere are unchanged. See fused.py for the references.

    import patches.torch_npu
    patches.torch_npu.apply(enabled=recipe.train.fused_kernels)     # -> names applied
    patches.torch_npu.apply(True, targets={"rotary": ["mymodel.apply_rope"]})  # a model's own RoPE
    patches.torch_npu.revert()
"""

from __future__ import annotations

from patches.conditions import Condition
from patches.manager import MANAGER

GROUP = "torch_npu"
_FUSED = "patches.torch_npu.fused:"

# kind -> (routing wrapper, standard targets routed by default)
KINDS = {
    "rms_norm": (_FUSED + "route_rms_norm", ["torch.nn.functional.rms_norm"]),
    "attention": (_FUSED + "route_attention", ["torch.nn.functional.scaled_dot_product_attention"]),
    "rotary": (_FUSED + "route_rotary", []),  # no torch spelling: name the model's function
    "swiglu": (_FUSED + "route_swiglu", []),  # likewise: a swiglu(x, dim) function of the model
}

CONDITION = Condition.torch_npu_works()


def _register(kind: str, target: str) -> str:
    name = f"npu:{kind}:{target}"
    if name not in MANAGER.patches:
        MANAGER.register(target, wrapper=KINDS[kind][0], name=name, condition=CONDITION, group=GROUP,
                         note=f"fused {kind} on NPU tensors")
    return name


def _register_defaults() -> None:
    for kind, (_, targets) in KINDS.items():
        for t in targets:
            _register(kind, t)


def apply(enabled: bool = True, targets: dict[str, list[str]] | None = None) -> list[str]:
    """Route the standard spellings (and any `targets` per kind: rms_norm, attention, rotary,
    swiglu) to torch_npu fused kernels when enabled and torch_npu works. Idempotent; returns the
    names applied ([] without an NPU: see MANAGER.skipped for the reason)."""
    _register_defaults()
    if not enabled:
        return []
    names = [_register(kind, t) for kind, (_, ts) in KINDS.items() for t in ts]
    for kind, ts in (targets or {}).items():
        if kind not in KINDS:
            raise ValueError(f"unknown fused kernel kind '{kind}' (choose from {', '.join(KINDS)})")
        names += [_register(kind, t) for t in ts]
    return MANAGER.apply(names=names)


def revert() -> list[str]:
    return MANAGER.revert(group=GROUP)


def why_not() -> str:
    """One line: why the set does not apply here ('' if it would)."""
    ok, why = CONDITION.evaluate()
    return "" if ok else why


_register_defaults()
