"""Readies MindSpore for a converted script run with plain `python train.py`.

The converter writes `import backends.mindspore.script` into every converted entry script: as the
first statement of its `if __name__ == "__main__":` block (so importing the module, a model file with
a demo block, changes nothing), or at the top of a file whose module-level code trains (a
`loss.backward()` rewritten at module level, nanoGPT's train.py). On import it picks the device
target, sets PyNative mode, and applies the kernel fallbacks of `patches.mindspore` before any model
code runs: without them a converted script stops at its first op that has no CPU kernel.

The device is the script's own flag when it has one (`device_flag`: `--device cuda`,
`--device=cuda:1`, nanoGPT's configurator `--device=cpu`, `--cpu`, `--no-cuda`; read from sys.argv,
never consumed, so the script's parser still sees it), else MINDBRIDGE_DEVICE (auto, cpu, cuda/gpu,
npu), else auto (Ascend, else GPU, else CPU). Flag names map as in device.py: cpu -> CPU, cuda[:N] /
gpu[:N] -> GPU (device id N), npu[:N] -> Ascend. Each of these is a one-line error (exit status 2),
not a traceback: a flag with no MindSpore target (`--device=mps`), a device that is asked for and
absent, and MINDBRIDGE_DEVICE disagreeing with the flag.

    python train_converted.py --device=cpu --batch_size=16
    MINDBRIDGE_DEVICE=cpu python train_converted.py --batch_size=16
"""

from __future__ import annotations

import os
import sys

from backends.base import BackendError
from backends.mindspore.device import TARGETS, import_mindspore, resolve_device, use_target

READY: dict = {}  # what ready() chose: {"target": ..., "device_id": ..., "source": ..., "patches": [...]}


def device_flag(argv: list[str]) -> tuple[str, str] | None:
    """(the flag as written, the device it names) from the script's arguments, or None: `--device X`,
    `--device=X`, `--cpu` / `--no-cuda` / `--no_cuda` (-> "cpu"). The last one wins, as in argparse;
    nothing after `--` counts. argv is only read."""
    found = None
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--device" and i + 1 < len(argv):
            found = (f"--device {argv[i + 1]}", argv[i + 1])
        elif arg.startswith("--device="):
            found = (arg, arg.partition("=")[2].strip("'\""))  # nanoGPT: --device='cpu' works too
        elif arg in ("--cpu", "--no-cuda", "--no_cuda"):
            found = (arg, "cpu")
    return found


def _flag_device(flag: str, value: str) -> tuple[str, int | None]:
    """A flag's device -> (a device.py name, device id or None): cuda:1 -> ("cuda", 1)."""
    name, colon, index = value.strip().lower().partition(":")
    if name == "auto" and not colon:
        return name, None
    if name not in TARGETS or (colon and not index.isdigit()):
        raise BackendError(f"{flag}: MindSpore has no '{value}' device (use --device cpu, cuda[:N], gpu[:N] or "
                           "npu[:N], or no flag for auto)")
    return name, int(index) if colon else None


def ready(argv: list[str] | None = None) -> dict:
    """Pick the device target (flag in argv, else MINDBRIDGE_DEVICE, else auto), PyNative mode and the
    kernel fallbacks, once per process."""
    if READY:
        return READY
    flag = device_flag(sys.argv[1:] if argv is None else argv)
    env = os.environ.get("MINDBRIDGE_DEVICE", "auto")
    requested, device_id, source = env, None, f"MINDBRIDGE_DEVICE={env}"
    if flag is not None:
        name, device_id = _flag_device(*flag)
        if name != "auto" and env != "auto" and TARGETS.get(env, env) != TARGETS[name]:
            raise BackendError(f"MINDBRIDGE_DEVICE={env} disagrees with the script's {flag[0]} "
                               "(unset MINDBRIDGE_DEVICE or change the flag)")
        if name != "auto":
            requested, source = name, flag[0]
    ms = import_mindspore()
    try:
        target, _ = resolve_device(requested)
    except BackendError as e:
        hint = "pass --device cpu" if flag and source == flag[0] else "set MINDBRIDGE_DEVICE=cpu"
        raise BackendError(f"{e} ({hint} to run on the CPU)") from None
    if device_id is None:
        use_target(target)
    else:
        ms.set_device(target, device_id)
    ms.set_context(mode=ms.PYNATIVE_MODE)
    import patches.mindspore

    READY.update(target=target, device_id=device_id, source=source, patches=patches.mindspore.apply(target))
    return READY


try:
    ready()
except BackendError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)
