"""Hugging Face model folders <-> our models' weights, through a weight adapter that lives beside the model.

A local Hugging Face folder holds config.json and model.safetensors, or shards listed in
model.safetensors.index.json. What differs per model family (parameter names, config keys, which
tensors are tied) is in an adapter module `hf_adapter.py` next to the model's source file, e.g.
examples/llama/hf_adapter.py; this file does the rest: reading and writing folders, dtypes
(bf16/fp16 widened to fp32 on import, exact, and narrowed back on export, so a round trip is
bit-identical) and sharding.

An adapter defines: MODEL_TYPES (HF model_type values), MODEL_SOURCE ('model.py:Class'), TIED
((head, embedding) names), DEFAULTS (model.config defaults), to_ours(name), to_hf(name),
ignored(name), expected_keys(cfg), is_tied(cfg), config_from_hf(dict), config_to_hf(cfg);
config errors are ValueError.

    python -m core.checkpoint hf-import HF_DIR llama.safetensors        # prints the model.config to use
    python -m core.checkpoint hf-export runs/x/checkpoints OUT_DIR       # config from the checkpoint's recipe
    model.init_from: hf:HF_DIR                                           # in a recipe: start from HF weights
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections import Counter
from pathlib import Path
from types import ModuleType

import numpy as np

from core.atomic import atomic_dir
from core.checkpoint.formats import read_safetensors
from core.errors import CheckpointError

ADAPTER_FILE = "hf_adapter.py"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"  # the shipped models and their adapters
_DTYPE_NAMES = {"float32": "F32", "float16": "F16", "bfloat16": "BF16"}


class HFError(CheckpointError):
    """A one-line problem with a Hugging Face folder or a config that the model cannot represent."""


# ---------------------------------------------------------------- adapters


def load_adapter(path: str | Path) -> ModuleType:
    """Import an adapter file under a private name (model folders are not packages)."""
    path = Path(path).resolve()
    if not path.is_file():
        raise HFError(f"Hugging Face weight adapter not found: {path}")
    name = f"_mindbridge_hf_adapter_{hashlib.sha256(str(path).encode()).hexdigest()[:12]}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.PATH = path
    return module


def adapter_beside(model_file: str | Path) -> ModuleType:
    """The adapter next to a model source file."""
    path = Path(model_file).resolve().parent / ADAPTER_FILE
    if not path.is_file():
        raise HFError(f"no Hugging Face weight adapter beside {model_file} (expected {path})")
    return load_adapter(path)


def adapter_for_model_type(model_type: str | None, where: str) -> ModuleType:
    """The shipped adapter (examples/*/hf_adapter.py) that reads this HF model_type."""
    for path in sorted(EXAMPLES.glob(f"*/{ADAPTER_FILE}")):
        adapter = load_adapter(path)
        if model_type in adapter.MODEL_TYPES:
            return adapter
    known = sorted(t for p in EXAMPLES.glob(f"*/{ADAPTER_FILE}") for t in load_adapter(p).MODEL_TYPES)
    raise HFError(f"{where}: no weight adapter for model_type {model_type!r} (adapters for: {', '.join(known)}; "
                  f"or pass --adapter PATH/{ADAPTER_FILE})")


def _config(adapter: ModuleType, fn: str, value: dict, where: str) -> dict:
    try:
        return getattr(adapter, fn)(value)
    except ValueError as e:
        raise HFError(f"{where}: {e}") from None


# ---------------------------------------------------------------- reading


def read_config(folder: Path) -> dict:
    cfg_path = folder / "config.json"
    if not cfg_path.is_file():
        raise HFError(f"{folder}: no config.json (expected a Hugging Face model folder)")
    try:
        raw = json.loads(cfg_path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise HFError(f"{cfg_path}: invalid JSON ({e})") from None
    if not isinstance(raw, dict):
        raise HFError(f"{cfg_path}: expected a JSON object")
    return raw


def weight_files(folder: Path) -> list[Path]:
    """The safetensors files of an HF folder: the shards of the index, or the single file(s)."""
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        except (ValueError, KeyError) as e:
            raise HFError(f"{index}: not a safetensors index ({e})") from None
        files = [folder / f for f in dict.fromkeys(weight_map.values())]
        absent = [f.name for f in files if not f.is_file()]
        if absent:
            raise HFError(f"{index} lists shard(s) that are missing: {absent[:3]}")
        return files
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        other = [p.name for p in folder.glob("*.bin")] + [p.name for p in folder.glob("*.pt*")]
        hint = f" (found {other[:2]}: save with safe_serialization=True)" if other else ""
        raise HFError(f"{folder}: no *.safetensors weights{hint}")
    return files


def import_hf(folder: str | Path, adapter: ModuleType | None = None) -> tuple[dict[str, np.ndarray], dict, str]:
    """(weights by our state_dict key as float32, model.config, the HF weights' main dtype).

    Without `adapter`, the shipped one for config.json's model_type is used."""
    folder = Path(folder)
    raw = read_config(folder)
    where = str(folder / "config.json")
    adapter = adapter or adapter_for_model_type(raw.get("model_type"), where)
    cfg = _config(adapter, "config_from_hf", raw, where)
    weights, dtypes, unknown = {}, Counter(), []
    for f in weight_files(folder):
        for name, (arr, dtype) in read_safetensors(f).items():
            ours = adapter.to_ours(name)
            if ours is None:
                if not adapter.ignored(name):
                    unknown.append(name)
                continue
            weights[ours] = arr.astype(np.float32) if arr.dtype != np.float32 else arr
            dtypes[dtype] += 1
    if unknown:
        raise HFError(f"{folder}: tensor(s) the model has no place for: {unknown[:5]}")
    head, embedding = adapter.TIED
    if adapter.is_tied(cfg):
        weights[head] = weights.get(embedding)  # HF saves a tied head once
    expected = adapter.expected_keys(cfg)
    missing = sorted(k for k in expected if weights.get(k) is None)
    extra = sorted(set(weights) - set(expected))
    if missing or extra:
        raise HFError(f"{folder}: weights do not fit config.json: missing {[adapter.to_hf(k) for k in missing[:5]]}, "
                      f"unexpected {[adapter.to_hf(k) for k in extra[:5]]}")
    return weights, cfg, dtypes.most_common(1)[0][0]


# ---------------------------------------------------------------- writing


def _narrow(arr: np.ndarray, dtype: str):
    """float32 -> the export dtype: (raw little-endian bytes as a numpy array, safetensors dtype)."""
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if dtype == "F32":
        return arr
    if dtype == "F16":
        return arr.astype(np.float16)
    u = arr.view(np.uint32).astype(np.uint64)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)  # round to nearest even
    return np.where(np.isnan(arr), np.uint16(0x7FC0), rounded)


def export_hf(weights: dict[str, np.ndarray], cfg: dict, out_dir: str | Path, adapter: ModuleType,
              dtype: str = "float32", max_shard_bytes: int | None = None) -> Path:
    """Write OUT_DIR/config.json and the weights (HF names) atomically, file by file: one
    model.safetensors, or, past `max_shard_bytes`, model-0000i-of-0000n.safetensors shards plus
    model.safetensors.index.json, as `save_pretrained(max_shard_size=...)` does."""
    out = Path(out_dir)
    refuse_existing(out)
    st_dtype = _DTYPE_NAMES.get(dtype, dtype)
    if st_dtype not in ("F32", "F16", "BF16"):
        raise HFError(f"export dtype {dtype!r} (choose float32, float16 or bfloat16)")
    hf_cfg = _config(adapter, "config_to_hf", cfg, "model.config")
    expected = adapter.expected_keys(cfg)
    missing = sorted(set(expected) - set(weights))
    extra = sorted(set(weights) - set(expected))
    if missing or extra:
        raise HFError(f"weights do not fit model.config: missing {missing[:5]}, unexpected {extra[:5]}")
    tensors = {adapter.to_hf(k): _narrow(weights[k], st_dtype) for k in expected}
    head, embedding = adapter.TIED
    if adapter.is_tied(cfg):
        if not np.array_equal(weights[head], weights[embedding]):
            raise HFError(f"model.config ties the embeddings, but {head} differs from {embedding}")
        del tensors[adapter.to_hf(head)]  # HF stores a tied head once
    hf_cfg["dtype"] = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[st_dtype]
    shards = _shards(tensors, max_shard_bytes)
    with atomic_dir(out) as tmp:  # the folder appears whole, or not at all
        if len(shards) == 1:
            (tmp / "model.safetensors").write_bytes(_serialize(tensors, st_dtype))
        else:
            weight_map = {}
            for i, names in enumerate(shards, 1):
                fname = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
                (tmp / fname).write_bytes(_serialize({k: tensors[k] for k in names}, st_dtype))
                weight_map.update(dict.fromkeys(names, fname))
            index = {"metadata": {"total_size": sum(v.nbytes for v in tensors.values())}, "weight_map": weight_map}
            (tmp / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")
        (tmp / "config.json").write_text(json.dumps(hf_cfg, indent=2, sort_keys=True) + "\n")
    return out


def refuse_existing(out: Path) -> None:
    """Export never writes over a folder: OUT must not exist yet, or be empty."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise HFError(f"{out} already exists and is not empty; hf-export never writes over it, choose a new folder")


def _shards(tensors: dict[str, np.ndarray], max_bytes: int | None) -> list[list[str]]:
    """Tensor names grouped in order into shards of at most `max_bytes` (a bigger tensor gets its own)."""
    if not max_bytes:
        return [list(tensors)]
    shards: list[list[str]] = [[]]
    size = 0
    for name, value in tensors.items():
        if shards[-1] and size + value.nbytes > max_bytes:
            shards.append([])
            size = 0
        shards[-1].append(name)
        size += value.nbytes
    return shards


def _serialize(tensors: dict[str, np.ndarray], st_dtype: str) -> bytes:
    if st_dtype != "BF16":
        from safetensors.numpy import save

        return save(tensors, metadata={"format": "pt"})
    try:
        import torch
        from safetensors.torch import save
    except ImportError:
        raise HFError("writing bfloat16 safetensors needs torch (numpy has no bfloat16); export float32") from None
    return save({k: torch.from_numpy(v.view(np.int16).copy()).view(torch.bfloat16)
                 for k, v in tensors.items()}, metadata={"format": "pt"})


# ---------------------------------------------------------------- recipes


def _same(mine, theirs) -> bool:
    if isinstance(theirs, float) and isinstance(mine, (int, float, str)) and not isinstance(mine, bool):
        try:
            return float(mine) == theirs  # YAML reads 1e-5 (no dot) as a string
        except ValueError:
            return False
    return mine == theirs


def recipe_adapter(recipe) -> ModuleType:
    """The adapter beside the recipe's model source file."""
    from core.modelsource import resolve_model_source, source_file

    return adapter_beside(source_file(resolve_model_source(recipe.model.source, recipe.base_dir)))


def recipe_init_weights(recipe) -> dict[str, np.ndarray]:
    """Weights for `model.init_from: hf:DIR`; the recipe's model.config must equal the HF config."""
    spec = recipe.model.init_from[len("hf:"):]
    folder = Path(spec).expanduser()
    if not folder.is_absolute() and not folder.exists():
        folder = Path(recipe.base_dir) / folder
    if not folder.is_dir():
        raise HFError(f"recipe key 'model.init_from': Hugging Face folder not found: {spec}")
    adapter = recipe_adapter(recipe)
    weights, cfg, _ = import_hf(folder, adapter)
    mine = {**adapter.DEFAULTS, **recipe.model.config}
    diff = [f"{k}: recipe {mine.get(k)!r} vs HF {v!r}" for k, v in cfg.items() if not _same(mine.get(k), v)]
    if diff:
        raise HFError(f"recipe key 'model.config' differs from {folder / 'config.json'}: {'; '.join(diff)}")
    return weights
