"""Readies MindSpore for a converted script run with plain `python train.py`.

The converter writes `import backends.mindspore.script` into every converted entry script: as the
first statement of its `if __name__ == "__main__":` block (so importing the module, a model file with
a demo block, changes nothing), or at the top of a file whose module-level code trains (a
`loss.backward()` rewritten at module level, nanoGPT's train.py). On import it picks the device target (MINDBRIDGE_DEVICE: auto, cpu,
cuda/gpu, npu; default auto: Ascend, else GPU, else CPU), sets PyNative mode, and applies the
kernel fallbacks of `patches.mindspore` before any model code runs: without them a converted
script stops at its first op that has no CPU kernel. A device that is asked for and absent is a
one-line error (exit status 2), not a traceback.

    MINDBRIDGE_DEVICE=cpu python train_converted.py --batch_size=16
"""

from __future__ import annotations

import os
import sys

from backends.base import BackendError

READY: dict = {}  # what ready() chose: {"target": ..., "patches": [...]}


def ready(device: str | None = None) -> dict:
    """Pick the device target, PyNative mode and the kernel fallbacks, once per process."""
    if READY:
        return READY
    from backends.mindspore.device import import_mindspore, resolve_device, use_target

    ms = import_mindspore()
    requested = device or os.environ.get("MINDBRIDGE_DEVICE", "auto")
    target, _ = resolve_device(requested)
    use_target(target)
    ms.set_context(mode=ms.PYNATIVE_MODE)
    import patches.mindspore

    READY.update(target=target, patches=patches.mindspore.apply(target))
    return READY


try:
    ready()
except BackendError as e:
    sys.exit(f"error: {e} (set MINDBRIDGE_DEVICE=cpu to run on the CPU)")
