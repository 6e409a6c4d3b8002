"""Hugging Face Llama weights <-> examples/llama/model.py: names, config, files (numpy + safetensors).

A local `LlamaForCausalLM` folder (config.json and model.safetensors, or shards listed in
model.safetensors.index.json) maps 1:1 onto examples/llama: both use rotate-half RoPE, so no
weight permutation is needed; only names and config keys differ. bf16/fp16 weights are widened to
fp32 on import (exact) and narrowed back on export, so a round trip is bit-identical.

    python -m core.checkpoint hf-import HF_DIR llama.safetensors        # prints the model.config to use
    python -m core.checkpoint hf-export runs/x/checkpoints OUT_DIR       # config from the checkpoint's recipe
    model.init_from: hf:HF_DIR                                           # in a recipe: start from HF weights
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np

from core.checkpoint import CheckpointError

# examples/llama/model.py LlamaConfig defaults (kept equal by tests/core/test_hf.py)
LLAMA_DEFAULTS = {"vocab_size": 256, "dim": 128, "n_layers": 4, "n_heads": 4, "n_kv_heads": 2, "hidden_dim": 352,
                  "max_seq_len": 256, "rope_theta": 10000.0, "norm_eps": 1e-5, "tie_embeddings": False,
                  "init_std": 0.02}
# our model.config key -> HF config.json key (rope_theta is handled apart: HF moved it into rope_parameters)
CONFIG_KEYS = {"vocab_size": "vocab_size", "dim": "hidden_size", "n_layers": "num_hidden_layers",
               "n_heads": "num_attention_heads", "n_kv_heads": "num_key_value_heads", "hidden_dim": "intermediate_size",
               "max_seq_len": "max_position_embeddings", "norm_eps": "rms_norm_eps",
               "tie_embeddings": "tie_word_embeddings"}
# (HF name pattern, our name pattern); {i} is the layer index
NAMES = [("model.embed_tokens.weight", "tok_emb.weight"), ("model.norm.weight", "norm.weight"),
         ("lm_head.weight", "lm_head.weight")] + [
    (f"model.layers.{{i}}.{hf}.weight", f"layers.{{i}}.{ours}.weight") for hf, ours in (
        ("self_attn.q_proj", "attn.wq"), ("self_attn.k_proj", "attn.wk"), ("self_attn.v_proj", "attn.wv"),
        ("self_attn.o_proj", "attn.wo"), ("mlp.gate_proj", "ffn.w1"), ("mlp.up_proj", "ffn.w3"),
        ("mlp.down_proj", "ffn.w2"), ("input_layernorm", "attn_norm"), ("post_attention_layernorm", "ffn_norm"))]
IGNORED = re.compile(r"^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$")  # recomputed, stored by old exports
_NP_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
              "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
_DTYPE_NAMES = {"float32": "F32", "float16": "F16", "bfloat16": "BF16"}


class HFError(CheckpointError):
    """A one-line problem with a Hugging Face folder or a config that examples/llama cannot represent."""


def _pattern(template: str) -> re.Pattern:
    return re.compile("^" + re.escape(template).replace(re.escape("{i}"), r"(\d+)") + "$")


_TO_OURS = [(_pattern(h), o) for h, o in NAMES]
_TO_HF = [(_pattern(o), h) for h, o in NAMES]


def _rename(name: str, table) -> str | None:
    for pat, template in table:
        m = pat.match(name)
        if m:
            return template.replace("{i}", m.group(1)) if m.groups() else template
    return None


def hf_to_ours(name: str) -> str | None:
    return _rename(name, _TO_OURS)


def ours_to_hf(name: str) -> str | None:
    return _rename(name, _TO_HF)


# ---------------------------------------------------------------- config


def config_from_hf(hf: dict, where: str = "config.json") -> dict:
    """examples/llama model.config from an HF LlamaConfig dict; unsupported features are errors."""
    arch = hf.get("architectures") or []
    if hf.get("model_type") != "llama" and "LlamaForCausalLM" not in arch:
        raise HFError(f"{where}: model_type {hf.get('model_type')!r} / architectures {arch} is not a Llama "
                      "(LlamaForCausalLM) model")
    missing = [k for k in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                           "intermediate_size") if k not in hf]
    if missing:
        raise HFError(f"{where}: missing key(s) {missing}")
    rope = hf.get("rope_parameters") or hf.get("rope_scaling") or {}
    problems = []
    if hf.get("hidden_act", "silu") != "silu":
        problems.append(f"hidden_act={hf['hidden_act']!r} (examples/llama uses silu)")
    for key in ("attention_bias", "mlp_bias"):
        if hf.get(key):
            problems.append(f"{key}=true (examples/llama has no biases)")
    if hf.get("head_dim") not in (None, hf["hidden_size"] // hf["num_attention_heads"]):
        problems.append(f"head_dim={hf['head_dim']} != hidden_size / num_attention_heads")
    if rope.get("rope_type", rope.get("type", "default")) != "default":
        problems.append(f"rope type {rope.get('rope_type', rope.get('type'))!r} (examples/llama has plain RoPE)")
    if problems:
        raise HFError(f"{where}: not representable by examples/llama: {'; '.join(problems)}")
    cfg = {ours: hf[key] for ours, key in CONFIG_KEYS.items() if key in hf}
    cfg.setdefault("n_kv_heads", hf["num_attention_heads"])
    cfg.setdefault("norm_eps", 1e-6)  # the HF LlamaConfig default
    cfg.setdefault("tie_embeddings", False)
    cfg["rope_theta"] = float(hf.get("rope_theta") or rope.get("rope_theta") or 10000.0)
    return cfg


def config_to_hf(cfg: dict) -> dict:
    """An HF config.json dict (LlamaForCausalLM) for an examples/llama model.config."""
    unknown = sorted(set(cfg) - set(LLAMA_DEFAULTS))
    if unknown:
        raise HFError(f"model.config has key(s) {unknown} that examples/llama does not take")
    full = {**LLAMA_DEFAULTS, **cfg}
    hf = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
          "attention_bias": False, "mlp_bias": False, "attention_dropout": 0.0,
          "head_dim": full["dim"] // full["n_heads"], "initializer_range": full["init_std"], "dtype": "float32"}
    hf.update({key: full[ours] for ours, key in CONFIG_KEYS.items()})
    hf["rope_theta"] = float(full["rope_theta"])  # older transformers read this key ...
    hf["rope_parameters"] = {"rope_theta": float(full["rope_theta"]), "rope_type": "default"}  # ... newer this one
    return hf


# ---------------------------------------------------------------- files


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
            raise HFError(f"{path}: tensor '{name}' has unsupported dtype {t['dtype']}")
        out[name] = (arr.reshape(t["shape"]), t["dtype"])
    return out


def _dtype_name(dtype: np.dtype) -> str:
    for name, np_type in _NP_DTYPES.items():
        if np.dtype(np_type) == dtype:
            return name
    return str(dtype)


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


def import_hf(folder: str | Path) -> tuple[dict[str, np.ndarray], dict, str]:
    """(weights by examples/llama state_dict key as float32, model.config, the HF weights' main dtype)."""
    folder = Path(folder)
    cfg_path = folder / "config.json"
    if not cfg_path.is_file():
        raise HFError(f"{folder}: no config.json (expected a Hugging Face model folder)")
    try:
        raw = json.loads(cfg_path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise HFError(f"{cfg_path}: invalid JSON ({e})") from None
    if not isinstance(raw, dict):
        raise HFError(f"{cfg_path}: expected a JSON object")
    cfg = config_from_hf(raw, str(cfg_path))
    weights, dtypes, unknown = {}, Counter(), []
    for f in weight_files(folder):
        for name, (arr, dtype) in read_safetensors(f).items():
            ours = hf_to_ours(name)
            if ours is None:
                if not IGNORED.match(name):
                    unknown.append(name)
                continue
            weights[ours] = arr.astype(np.float32) if arr.dtype != np.float32 else arr
            dtypes[dtype] += 1
    if unknown:
        raise HFError(f"{folder}: tensor(s) examples/llama has no place for: {unknown[:5]}")
    if cfg["tie_embeddings"]:
        weights["lm_head.weight"] = weights.get("tok_emb.weight")  # HF saves a tied head once
    expected = expected_keys(cfg)
    missing = sorted(k for k in expected if weights.get(k) is None)
    extra = sorted(set(weights) - set(expected))
    if missing or extra:
        raise HFError(f"{folder}: weights do not fit config.json: missing {[ours_to_hf(k) for k in missing[:5]]}, "
                      f"unexpected {[ours_to_hf(k) for k in extra[:5]]}")
    return weights, cfg, dtypes.most_common(1)[0][0]


def expected_keys(cfg: dict) -> list[str]:
    n = {**LLAMA_DEFAULTS, **cfg}["n_layers"]
    return ["tok_emb.weight", "norm.weight", "lm_head.weight"] + [
        o.replace("{i}", str(i)) for i in range(n) for _, o in NAMES[3:]]


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


def export_hf(weights: dict[str, np.ndarray], cfg: dict, out_dir: str | Path, dtype: str = "float32",
              max_shard_bytes: int | None = None) -> Path:
    """Write OUT_DIR/config.json and the weights (HF names) atomically, file by file: one
    model.safetensors, or, past `max_shard_bytes`, model-0000i-of-0000n.safetensors shards plus
    model.safetensors.index.json, as `save_pretrained(max_shard_size=...)` does."""
    from core.checkpoint import atomic_write_bytes

    out = Path(out_dir)
    if (out / "model.safetensors.index.json").exists() or (out / "model.safetensors").exists():
        raise HFError(f"{out} already holds a Hugging Face checkpoint; choose an empty folder")
    st_dtype = _DTYPE_NAMES.get(dtype, dtype)
    if st_dtype not in ("F32", "F16", "BF16"):
        raise HFError(f"export dtype {dtype!r} (choose float32, float16 or bfloat16)")
    hf_cfg = config_to_hf(cfg)
    expected = expected_keys(cfg)
    missing = sorted(set(expected) - set(weights))
    extra = sorted(set(weights) - set(expected))
    if missing or extra:
        raise HFError(f"weights do not fit model.config: missing {missing[:5]}, unexpected {extra[:5]}")
    tensors = {ours_to_hf(k): _narrow(weights[k], st_dtype) for k in expected}
    if hf_cfg["tie_word_embeddings"]:
        if not np.array_equal(weights["lm_head.weight"], weights["tok_emb.weight"]):
            raise HFError("model.config says tie_embeddings, but lm_head.weight differs from tok_emb.weight")
        del tensors["lm_head.weight"]  # HF stores a tied head once
    hf_cfg["dtype"] = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[st_dtype]
    shards = _shards(tensors, max_shard_bytes)
    if len(shards) == 1:
        atomic_write_bytes(out / "model.safetensors", _serialize(tensors, st_dtype))
    else:
        weight_map = {}
        for i, names in enumerate(shards, 1):
            fname = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
            atomic_write_bytes(out / fname, _serialize({k: tensors[k] for k in names}, st_dtype))
            weight_map.update(dict.fromkeys(names, fname))
        index = {"metadata": {"total_size": sum(v.nbytes for v in tensors.values())}, "weight_map": weight_map}
        atomic_write_bytes(out / "model.safetensors.index.json", (json.dumps(index, indent=2) + "\n").encode())
    atomic_write_bytes(out / "config.json", (json.dumps(hf_cfg, indent=2, sort_keys=True) + "\n").encode())
    return out


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


def recipe_init_weights(recipe) -> dict[str, np.ndarray]:
    """Weights for `model.init_from: hf:DIR`; the recipe's model.config must equal the HF config."""
    spec = recipe.model.init_from[len("hf:"):]
    folder = Path(spec).expanduser()
    if not folder.is_absolute() and not folder.exists():
        folder = Path(recipe.base_dir) / folder
    if not folder.is_dir():
        raise HFError(f"recipe key 'model.init_from': Hugging Face folder not found: {spec}")
    weights, cfg, _ = import_hf(folder)
    mine = {**LLAMA_DEFAULTS, **recipe.model.config}
    diff = [f"{k}: recipe {mine.get(k)!r} vs HF {v!r}" for k, v in cfg.items() if not _same(mine.get(k), v)]
    if diff:
        raise HFError(f"recipe key 'model.config' differs from {folder / 'config.json'}: {'; '.join(diff)}")
    return weights
