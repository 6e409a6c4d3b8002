"""Single-file weight formats: torch `.pt`/`.pth` state dicts, safetensors, MindSpore `.ckpt`.

All three are read into and written from {name: numpy array}; names are kept as they are (for our
models they are the torch state_dict keys on both backends). bf16 tensors are widened to fp32
(exact: every bf16 value is an fp32 value). torch and MindSpore are imported only to read or
write their own format.

    python -m core.checkpoint convert model.pt model.safetensors
    python -m core.checkpoint convert model.safetensors model.ckpt
    python -m core.checkpoint convert model.ckpt model.pt
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.atomic import atomic_path
from core.errors import CheckpointError

FORMATS = {".pt": "torch", ".pth": "torch", ".safetensors": "safetensors", ".ckpt": "mindspore"}
_NP_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
              "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


class FormatError(CheckpointError):
    """A one-line problem with a weights file or its format."""


def format_of(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise FormatError(f"{path}: unknown weights format '{path.suffix}' (use {', '.join(FORMATS)})")
    return fmt


def _need(module: str, path: Path):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise FormatError(f"{path}: reading or writing this format needs {module}, which is not installed") from None


def _from_torch(obj, path: Path) -> dict[str, np.ndarray]:
    torch = _need("torch", path)
    if isinstance(obj, dict) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
        for key in ("state_dict", "model", "module"):  # common wrappers around a state dict
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict):
        raise FormatError(f"{path}: not a state dict (found {type(obj).__name__})")
    out = {}
    for k, v in obj.items():
        if isinstance(v, torch.Tensor):
            v = v.detach().cpu()
            out[k] = (v.float() if v.dtype == torch.bfloat16 else v).numpy().copy()
    if not out:
        raise FormatError(f"{path}: no tensors found")
    return out


def read_safetensors(path: Path) -> dict[str, tuple[np.ndarray, str]]:
    """{name: (array, safetensors dtype)}; BF16 is widened to float32 bit-exactly (numpy has no bf16)."""
    from safetensors import deserialize
    from safetensors.numpy import load_file

    try:
        arrays = load_file(str(path))
        if not any(v.dtype.name == "bfloat16" for v in arrays.values()):  # MindSpore registers one in numpy
            return {k: (v, _dtype_name(v.dtype)) for k, v in arrays.items()}
    except TypeError:  # a bfloat16 tensor, and numpy has no bfloat16 type: read the raw bytes instead
        pass
    out = {}
    for name, t in deserialize(path.read_bytes()):
        if t["dtype"] == "BF16":
            arr = (np.frombuffer(t["data"], dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        elif t["dtype"] in _NP_DTYPES:
            arr = np.frombuffer(t["data"], dtype=np.dtype(_NP_DTYPES[t["dtype"]]).newbyteorder("<")).copy()
        else:
            raise FormatError(f"{path}: tensor '{name}' has unsupported dtype {t['dtype']}")
        out[name] = (arr.reshape(t["shape"]), t["dtype"])
    return out


def _dtype_name(dtype: np.dtype) -> str:
    for name, np_type in _NP_DTYPES.items():
        if np.dtype(np_type) == dtype:
            return name
    return str(dtype)


def read_weights(path: str | Path) -> dict[str, np.ndarray]:
    """{name: array} from a .pt/.pth, .safetensors or .ckpt file."""
    path = Path(path)
    fmt = format_of(path)
    if not path.is_file():
        raise FormatError(f"weights file not found: {path}")
    if fmt == "safetensors":
        try:
            return {k: v for k, (v, _) in read_safetensors(path).items()}
        except Exception as e:
            raise FormatError(f"{path}: unreadable safetensors file ({str(e).splitlines()[0] if str(e) else e})") from None
    if fmt == "torch":
        torch = _need("torch", path)
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:
            raise FormatError(f"{path}: cannot load as a torch state dict ({str(e).splitlines()[0]})") from None
        return _from_torch(obj, path)
    ms = _need("mindspore", path)
    try:
        params = ms.load_checkpoint(str(path))
    except Exception as e:
        raise FormatError(f"{path}: cannot load as a MindSpore checkpoint ({str(e).splitlines()[0]})") from None
    out = {}
    for k, v in params.items():
        if isinstance(v, ms.Tensor):  # skips non-tensor entries (e.g. strings appended at save time)
            out[k] = (v.astype(ms.float32) if v.dtype == ms.bfloat16 else v).asnumpy().copy()
    return out


def write_weights(weights: dict[str, np.ndarray], path: str | Path) -> Path:
    """Write {name: array} in the format of `path`'s suffix, atomically (temp file + rename)."""
    path = Path(path)
    fmt = format_of(path)
    arrays = {k: np.asarray(v) for k, v in weights.items()}
    arrays = {k: v if v.flags.c_contiguous else v.copy(order="C") for k, v in arrays.items()}  # 0-d stays 0-d
    # MindSpore's writer insists on the .ckpt suffix and leaves mode 0400; atomic_path gives open()'s mode
    with atomic_path(path, suffix=path.suffix) as tmp:
        if fmt == "safetensors":
            from safetensors.numpy import save_file

            save_file(arrays, str(tmp), metadata={"format": "pt"})
        elif fmt == "torch":
            torch = _need("torch", path)
            torch.save({k: torch.from_numpy(v.copy()) for k, v in arrays.items()}, tmp)
        else:
            ms = _need("mindspore", path)
            ms.save_checkpoint(arrays, str(tmp))
    return path


def convert(src: str | Path, dst: str | Path) -> tuple[Path, int]:
    """Convert one weights file to another format (by suffix); returns (dst, number of tensors)."""
    weights = read_weights(src)
    return write_weights(weights, dst), len(weights)
