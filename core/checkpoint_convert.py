"""Single-file weight formats: torch `.pt`/`.pth` state dicts, safetensors, MindSpore `.ckpt`.

All three are read into and written from {name: numpy array}; names are kept as they are (for our
models they are the torch state_dict keys on both backends). bf16 tensors are widened to fp32
(exact: every bf16 value is an fp32 value). torch and MindSpore are imported only to read or
write their own format.

    python -m core.checkpoint convert model.pt model.safetensors
    python -m core.checkpoint convert model.safetensors model.ckpt
    python -m core.checkpoint convert model.ckpt model.pt
    python -m core.checkpoint hf-import HF_DIR llama.safetensors   (see core/hf.py)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from core.checkpoint import CheckpointError, default_mode

FORMATS = {".pt": "torch", ".pth": "torch", ".safetensors": "safetensors", ".ckpt": "mindspore"}


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


def read_weights(path: str | Path) -> dict[str, np.ndarray]:
    """{name: array} from a .pt/.pth, .safetensors or .ckpt file."""
    path = Path(path)
    fmt = format_of(path)
    if not path.is_file():
        raise FormatError(f"weights file not found: {path}")
    if fmt == "safetensors":
        from core.hf import read_safetensors

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
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        if fmt == "safetensors":
            from safetensors.numpy import save_file

            save_file(arrays, tmp, metadata={"format": "pt"})
        elif fmt == "torch":
            torch = _need("torch", path)
            torch.save({k: torch.from_numpy(v.copy()) for k, v in arrays.items()}, tmp)
        else:
            ms = _need("mindspore", path)
            ms.save_checkpoint(arrays, tmp)  # the name already ends in .ckpt, so it is kept
        default_mode(tmp)  # mkstemp made it 0600 (and MindSpore 0400)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def convert(src: str | Path, dst: str | Path) -> tuple[Path, int]:
    """Convert one weights file to another format (by suffix); returns (dst, number of tensors)."""
    weights = read_weights(src)
    return write_weights(weights, dst), len(weights)


# ---------------------------------------------------------------- CLI (wired in core.checkpoint.main)


def _export_config(args, path: Path) -> tuple[dict, str | None]:
    """(model.config, dtype recorded at import) for hf-export: --recipe, checkpoint meta, or file metadata."""
    import json

    from core.checkpoint import META, resolve

    if args.recipe:
        from core.recipe import load_recipe

        return dict(load_recipe(args.recipe, args.overrides).model.config), None
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(path), "np") as fh:
            meta = fh.metadata() or {}
        if "mindbridge_model_config" in meta:
            return json.loads(meta["mindbridge_model_config"]), meta.get("hf_dtype")
        raise FormatError(f"{path} does not record a model config (not written by hf-import); pass --recipe RECIPE")
    meta = json.loads((resolve(path) / META).read_text(encoding="utf-8"))
    cfg = (meta.get("recipe") or {}).get("model", {}).get("config")
    if cfg is None:
        raise FormatError(f"{path}: its meta.json has no recipe model.config; pass --recipe RECIPE")
    return cfg, None


def _parse_size(text: str | None) -> int | None:
    """'5GB' / '200MB' / '64KB' / '123' (bytes) -> bytes, as save_pretrained's max_shard_size."""
    if not text:
        return None
    units = {"GB": 10**9, "MB": 10**6, "KB": 10**3, "B": 1}
    t = text.strip().upper()
    for unit, factor in units.items():
        if t.endswith(unit) and t[: -len(unit)].strip().replace(".", "", 1).isdigit():
            return int(float(t[: -len(unit)]) * factor)
    if t.isdigit():
        return int(t)
    raise CheckpointError(f"--max-shard-size {text!r}: use a size such as 5GB, 200MB or a byte count")


def run(args) -> int:
    """`convert`, `hf-import` and `hf-export` of `python -m core.checkpoint`; errors are one line."""
    import json
    import sys

    import yaml

    from core import hf
    from core.checkpoint import CheckpointError, load_weights
    from core.recipe import RecipeError

    try:
        if args.cmd == "convert":
            out, n = convert(args.src, args.dst)
            print(f"wrote {out} ({n} tensors)")
        elif args.cmd == "hf-import":
            out = Path(args.out)
            if out.suffix != ".safetensors":
                raise FormatError(f"{out}: hf-import writes a .safetensors file")
            weights, cfg, dtype = hf.import_hf(args.hf_dir)
            from safetensors.numpy import save

            if weights.get("lm_head.weight") is weights.get("tok_emb.weight"):
                weights["lm_head.weight"] = weights["lm_head.weight"].copy()  # safetensors refuses shared memory
            from core.checkpoint import atomic_write_bytes

            atomic_write_bytes(out, save(weights, metadata={"format": "pt", "mindbridge_model_config": json.dumps(cfg),
                                                            "hf_dtype": dtype}))
            print(f"wrote {out} ({len(weights)} tensors, from {dtype}); use it in a recipe as:\n"
                  + yaml.safe_dump({"model": {"source": "model.py:Llama", "config": cfg, "init_from": str(out)}},
                                   sort_keys=False).rstrip())
        else:
            path = Path(args.path)
            cfg, recorded = _export_config(args, path)
            dtype = args.dtype if args.dtype != "auto" else {"BF16": "bfloat16", "F16": "float16"}.get(
                recorded or "", "float32")
            out = hf.export_hf(load_weights(path), cfg, args.out_dir, dtype=dtype,
                               max_shard_bytes=_parse_size(args.max_shard_size))
            files = sorted(p.name for p in out.glob("model*.safetensors*"))
            print(f"wrote {out / 'config.json'} and {', '.join(files)} ({dtype})")
    except (CheckpointError, RecipeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
