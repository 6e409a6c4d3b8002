"""Conditions that decide, at apply() time, whether a patch is applied.

A Condition is a description (shown by `python -m patches list`) and a check returning
bool or (bool, reason). Checks never raise: an exception counts as "no", with its message.

    Condition.device_target("CPU", "GPU")   # MindSpore's device_target is one of these
    Condition.torch_npu_works()             # torch_npu imports and sees an NPU
    Condition.env_flag("MINDBRIDGE_FUSED")  # an environment switch
    cond_a & cond_b                         # both
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Condition:
    description: str
    check: Callable[[], Any]

    def evaluate(self) -> tuple[bool, str]:
        """(holds, reason). The reason says why not when it does not hold."""
        try:
            out = self.check()
        except Exception as e:  # a condition that cannot be evaluated does not hold
            return False, f"{self.description}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        ok, why = out if isinstance(out, tuple) else (bool(out), "")
        return bool(ok), why or (self.description if ok else f"not ({self.description})")

    def __and__(self, other: "Condition") -> "Condition":
        def both():
            for c in (self, other):
                ok, why = c.evaluate()
                if not ok:
                    return False, why
            return True, ""

        return Condition(f"{self.description} and {other.description}", both)

    # ---------------------------------------------------------------- common conditions

    @staticmethod
    def always() -> "Condition":
        return Condition("always", lambda: True)

    @staticmethod
    def device_target(*targets: str) -> "Condition":
        """MindSpore's current device_target (set_context) is one of `targets`; an explicit
        override can be given with patches.conditions.DEVICE_OVERRIDE (patches.mindspore.apply
        passes the device it was told about)."""
        wanted = tuple(t.upper() for t in targets)

        def check():
            current = DEVICE_OVERRIDE.get("mindspore") or _mindspore_device_target()
            return current.upper() in wanted, f"MindSpore device target is {current}, not {'/'.join(wanted)}"

        return Condition(f"MindSpore device target is {' or '.join(wanted)}", check)

    @staticmethod
    def mindspore_mode(mode: str) -> "Condition":
        """'pynative' or 'graph': for patches that only work in one mode (Tensor methods)."""

        def check():
            import mindspore

            now = "graph" if mindspore.get_context("mode") == mindspore.GRAPH_MODE else "pynative"
            return now == mode, f"MindSpore runs in {now} mode, not {mode}"

        return Condition(f"MindSpore mode is {mode}", check)

    @staticmethod
    def torch_npu_works() -> "Condition":
        def check():
            from backends.torch_npu.device import probe_npu

            probe = probe_npu()
            return probe.available, probe.reason

        return Condition("torch_npu works (an NPU is visible)", check)

    @staticmethod
    def env_flag(var: str) -> "Condition":
        def check():
            val = os.environ.get(var, "").strip().lower()
            return val in ("1", "true", "yes", "on"), f"{var} is not set to 1/true"

        return Condition(f"${var} is true", check)


# patches.mindspore.apply(device_target=...) records the device it was given here, so the
# condition does not depend on global MindSpore context state when a caller knows better.
DEVICE_OVERRIDE: dict[str, str] = {}


def _mindspore_device_target() -> str:
    import mindspore

    return str(mindspore.get_context("device_target"))
