"""Device resolution for the torch backend: NPU if torch_npu really works, else CUDA, else CPU.

Detection never crashes a host where torch_npu is installed without the Ascend CANN runtime
(there `import torch_npu` raises ImportError for libhccl.so, and torch's device-backend autoload
makes even `import torch` fail). The order follows shared/notes/torch-npu.md:

1. cheap checks first: torch_npu importable at all (find_spec), CANN libraries loadable (ctypes);
2. only then a guarded `import torch_npu` and `torch.npu.device_count()`;
3. TORCH_DEVICE_BACKEND_AUTOLOAD is saved and restored around the attempt.

    python -m backends.torch_npu.device        # prints what `--device auto` would pick and why
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
from dataclasses import dataclass

from backends.base import BackendError

CANN_LIBRARIES = ("libascendcl.so", "libhccl.so")
_AUTOLOAD = "TORCH_DEVICE_BACKEND_AUTOLOAD"


@dataclass(frozen=True)
class Probe:
    available: bool
    reason: str  # why not, or a description of what was found


def prepare_torch_import() -> None:
    """Call before the first `import torch`: with torch_npu installed but CANN missing, torch's
    autoload of the torch_npu entry point would make `import torch` itself fail."""
    if _AUTOLOAD in os.environ or importlib.util.find_spec("torch_npu") is None:
        return
    if not cann_loadable().available:
        os.environ[_AUTOLOAD] = "0"


def cann_loadable() -> Probe:
    for lib in CANN_LIBRARIES:
        try:
            ctypes.CDLL(lib)
        except OSError as e:
            return Probe(False, f"the Ascend CANN runtime is not loadable ({lib}: {e})")
    return Probe(True, "CANN runtime loadable")


def try_import_torch_npu() -> Probe:
    """Guarded import; restores TORCH_DEVICE_BACKEND_AUTOLOAD, which torch_npu overwrites."""
    saved = os.environ.get(_AUTOLOAD)
    try:
        import torch  # noqa: F401
        import torch_npu  # noqa: F401

        count = torch.npu.device_count() if torch.npu.is_available() else 0
    except Exception as e:  # ImportError, OSError, RuntimeError all seen in the wild
        first_line = (str(e).strip().splitlines() or [""])[0]
        return Probe(False, f"import torch_npu failed: {type(e).__name__}: {first_line}")
    finally:
        if saved is None:
            os.environ.pop(_AUTOLOAD, None)
        else:
            os.environ[_AUTOLOAD] = saved
    if count == 0:
        return Probe(False, "torch_npu imported but reports no NPU")
    return Probe(True, f"{count} NPU(s) via torch_npu")


def probe_npu() -> Probe:
    if importlib.util.find_spec("torch_npu") is None:
        return Probe(False, "torch_npu is not installed")
    cann = cann_loadable()
    if not cann.available:
        return Probe(False, f"torch_npu is installed but {cann.reason}")
    return try_import_torch_npu()


def probe_cuda() -> Probe:
    import torch

    if not torch.cuda.is_available():
        return Probe(False, "torch.cuda.is_available() is False")
    return Probe(True, f"{torch.cuda.device_count()} CUDA device(s): {torch.cuda.get_device_name(0)}")


def resolve_device(requested: str) -> tuple[str, str]:
    """Return (device string for torch, description). An absent requested device is an error."""
    requested = "cuda" if requested == "gpu" else requested
    if requested in ("npu", "auto"):
        npu = probe_npu()
        if npu.available:
            return "npu:0", f"npu:0 ({npu.reason})"
        if requested == "npu":
            raise BackendError(f"--device npu requested but no usable NPU: {npu.reason}")
    if requested in ("cuda", "auto"):
        cuda = probe_cuda()
        if cuda.available:
            return "cuda:0", f"cuda:0 ({cuda.reason})"
        if requested == "cuda":
            raise BackendError(f"--device cuda requested but no usable CUDA device: {cuda.reason}")
    if requested not in ("cpu", "auto"):
        raise BackendError(f"unknown device '{requested}' (valid: auto, cpu, cuda, npu)")
    import torch

    return "cpu", f"cpu (torch {torch.__version__}, {torch.get_num_threads()} threads)"


if __name__ == "__main__":
    prepare_torch_import()
    print("npu :", probe_npu())
    print("cuda:", probe_cuda())
    print("auto ->", resolve_device("auto")[1])
