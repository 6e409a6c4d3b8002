"""Device resolution for the MindSpore backend: Ascend if MindSpore reports it, else GPU, else CPU.

MindSpore probes its device plugins itself and returns False (with a warning) where the Ascend or
GPU runtime is missing, so detection here cannot crash. An explicitly requested device that is
absent is a one-line error, never a silent fallback.

    python -m backends.mindspore.device        # prints what `--device auto` would pick
"""

from __future__ import annotations

import os

from backends.base import BackendError

# mindbridge's --device names -> MindSpore device targets
TARGETS = {"npu": "Ascend", "cuda": "GPU", "gpu": "GPU", "cpu": "CPU"}


def import_mindspore():
    """Import MindSpore with its C++ log at CRITICAL only unless the user chose a level (GLOG_v): its
    ERROR lines repeat what the exception says, which reaches the user as one line (the full text in
    the run folder's error.log). GLOG_v=3 shows them again."""
    os.environ.setdefault("GLOG_v", "4")
    import mindspore

    return mindspore


def use_target(target: str) -> None:
    """Make `target` MindSpore's device. MindSpore refuses set_device() once a kernel has run, so
    it is only called when the target actually changes (CPU is the default on a CPU build)."""
    ms = import_mindspore()
    if ms.get_context("device_target") != target:
        ms.set_device(target)


def target_available(target: str) -> bool:
    ms = import_mindspore()
    ctx = {"Ascend": ms.device_context.ascend, "GPU": ms.device_context.gpu, "CPU": ms.device_context.cpu}[target]
    try:
        return bool(ctx.is_available())
    except Exception:  # a broken plugin counts as absent
        return False


def resolve_device(requested: str) -> tuple[str, str]:
    """Return (MindSpore device target, description) for --device auto|npu|cuda|gpu|cpu."""
    ms = import_mindspore()
    if requested == "auto":
        target = next(t for t in ("Ascend", "GPU", "CPU") if target_available(t))
    elif requested in TARGETS:
        target = TARGETS[requested]
        if not target_available(target):
            raise BackendError(f"--device {requested} requested but MindSpore reports no usable {target} device "
                               f"(mindspore {ms.__version__}; is the {target} build of MindSpore installed?)")
    else:
        raise BackendError(f"unknown device '{requested}' (valid: auto, cpu, cuda, gpu, npu)")
    return target, f"{target} (mindspore {ms.__version__})"


if __name__ == "__main__":
    print("auto ->", resolve_device("auto")[1])
