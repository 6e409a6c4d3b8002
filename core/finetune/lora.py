"""`model.lora`: low-rank adapters on an `hf:` model, the same adapters on both backends, saved in peft's format.

    model:
      source: hf:Qwen2.5-0.5B/
      lora: {r: 8, alpha: 16, dropout: 0.05, target_modules: [q_proj, v_proj]}   # or target_modules: all-linear

On torch the adapters are peft's own (torch_model.apply_peft: get_peft_model with a LoraConfig); the
trained module is the transformers model with peft's layers inside, so parameter names are
`<target>.base_layer.weight`, `<target>.lora_A.default.weight`, `<target>.lora_B.default.weight`.
MindSpore builds the same names (backends/mindspore/finetune.py) and copies peft's initial weights.
This module is framework-neutral: recipe checks, the adapter files peft reads
(`adapter_config.json`, `adapter_model.safetensors` with peft's key names) and merging, all from
the checkpoint's numpy weights, so a run of either backend writes the same files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import RecipeError

KEY = "model.lora"
FIELDS = ("r", "alpha", "dropout", "target_modules")
ADAPTER_CONFIG, ADAPTER_WEIGHTS = "adapter_config.json", "adapter_model.safetensors"
PEFT_PREFIX = "base_model.model."  # peft's key prefix in adapter_model.safetensors
_A, _B, _BASE = ".lora_A.default.weight", ".lora_B.default.weight", ".base_layer."


def check_lora(raw: dict[str, Any]) -> dict[str, Any]:
    """`model.lora` normalized: {r, alpha, dropout, target_modules}; {} when not set. One-line RecipeErrors."""
    if not raw:
        return {}
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise RecipeError(f"unknown recipe key '{KEY}.{unknown[0]}' (known keys of {KEY}: {', '.join(FIELDS)})")
    r = raw.get("r", 8)
    if isinstance(r, bool) or not isinstance(r, int) or r <= 0:
        raise RecipeError(f"recipe key '{KEY}.r' must be a positive integer (the adapter rank); got {r!r}")
    alpha = raw.get("alpha", 2 * r)  # LLaMA-Factory's default lora_alpha: twice the rank
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha <= 0:
        raise RecipeError(f"recipe key '{KEY}.alpha' must be a positive number; got {alpha!r}")
    dropout = raw.get("dropout", 0.0)
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise RecipeError(f"recipe key '{KEY}.dropout' must be a number in [0, 1); got {dropout!r}")
    targets = raw.get("target_modules", "all-linear")
    if isinstance(targets, str) and targets != "all-linear":
        targets = [t.strip() for t in targets.split(",")]  # LLaMA-Factory's lora_target: "q_proj,v_proj"
    if targets != "all-linear" and (not isinstance(targets, list) or not targets
                                    or not all(isinstance(t, str) and t.strip() for t in targets)):
        raise RecipeError(f"recipe key '{KEY}.target_modules' must be 'all-linear' or a list of module-name "
                          f"suffixes such as [q_proj, v_proj]; got {targets!r}")
    return {"r": r, "alpha": alpha, "dropout": float(dropout), "target_modules": targets}


def is_lora_param(name: str) -> bool:
    return name.endswith(_A) or name.endswith(_B)


def scaling(lora: dict[str, Any]) -> float:
    return lora["alpha"] / lora["r"]


def targets_of(weights) -> list[str]:
    """Module names that carry an adapter (`model.layers.0.self_attn.q_proj`, ...), from weight names."""
    return sorted(n[: -len(_A)] for n in weights if n.endswith(_A))


def peft_config(lora: dict[str, Any], base_model: str | None = None, target_modules=None, inference_mode=False,
                exclude_modules=None):
    """peft's LoraConfig of `lora` (imports peft); the saved adapter_config.json has inference_mode true, as peft's.
    exclude_modules: module names that get no adapter (the part model.freeze freezes)."""
    from peft import LoraConfig

    return LoraConfig(r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
                      target_modules=target_modules or lora["target_modules"], task_type="CAUSAL_LM",
                      base_model_name_or_path=base_model, inference_mode=inference_mode,
                      exclude_modules=exclude_modules)


def adapter_files(weights: dict[str, np.ndarray], lora: dict[str, Any], base_model: str) -> dict[str, bytes]:
    """{file name: bytes} of peft's adapter folder from checkpoint weights (either backend's)."""
    from safetensors.numpy import save

    targets = targets_of(weights)
    if not targets:
        raise RecipeError(f"recipe key '{KEY}': the weights hold no LoRA adapters (no '*{_A}' tensors)")
    tensors = {}
    for name, value in weights.items():
        if is_lora_param(name):
            key = PEFT_PREFIX + name.replace(".lora_A.default.", ".lora_A.").replace(".lora_B.default.", ".lora_B.")
            tensors[key] = np.ascontiguousarray(value, dtype=np.float32)
    # the adapted modules as peft records them: their plain suffixes (what 'all-linear' or [q_proj, v_proj] resolve
    # to), or, where those also name modules without an adapter, peft's own minimal separating suffixes
    suffixes = peft_target_modules(weights)
    config = peft_config(lora, base_model, target_modules=suffixes, inference_mode=True).to_dict()
    config["target_modules"] = suffixes
    text = json.dumps(config, indent=2, sort_keys=True, default=lambda o: sorted(o) if isinstance(o, set) else str(o))
    return {ADAPTER_CONFIG: (text + "\n").encode(), ADAPTER_WEIGHTS: save(tensors, metadata={"format": "pt"})}


def module_names(weights) -> set[str]:
    """Every module name of the base model (without peft's layers) that the weight names show: each dotted prefix."""
    out = set()
    for name in weights:
        if is_lora_param(name):
            continue
        parts = name.replace(_BASE, ".").split(".")[:-1]
        out.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return out


def peft_target_modules(weights) -> list[str]:
    """target_modules for adapter_config.json that make PeftModel.from_pretrained adapt exactly the modules that
    carry adapters in `weights`. peft matches a name or a `.name` suffix, so the plain last names (q_proj, v_proj)
    are used when no other module ends in one of them. They are not when a frozen part has the same names (a
    LLaVA's CLIP q_proj / v_proj with model.freeze: [vision_tower]), or when all-linear adapts Qwen2-VL's merger
    `mlp.0` and `model.language_model.layers.0` also ends in `0`. Then peft's own condensing
    (`_find_minimal_target_modules`, used on long target lists by get_peft_model) separates them."""
    targets = targets_of(weights)
    suffixes = sorted({t.rsplit(".", 1)[-1] for t in targets})
    others = module_names(weights) - set(targets)
    if not {o.rsplit(".", 1)[-1] for o in others} & set(suffixes):
        return suffixes
    try:
        from peft.tuners.tuners_utils import _find_minimal_target_modules
    except ImportError:  # a peft without it: the full names, which match exactly those modules
        return targets
    return sorted(_find_minimal_target_modules(targets, others))


def write_adapter(folder: str | Path, files: dict[str, bytes]) -> Path:
    """The adapter files as one folder, written atomically (an existing folder is replaced)."""
    from core.atomic import atomic_dir

    out = Path(folder)
    with atomic_dir(out) as tmp:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
    return out


def merged_weights(weights: dict[str, np.ndarray], lora: dict[str, Any]) -> dict[str, np.ndarray]:
    """The base model's weights with every adapter folded in: W + (alpha / r) * B @ A, under the plain names."""
    s = scaling(lora)
    out = {}
    for name, value in weights.items():
        if is_lora_param(name):
            continue
        if _BASE in name:
            module, _, leaf = name.partition(_BASE)
            if leaf == "weight":
                a = weights[module + _A].astype(np.float64)
                b = weights[module + _B].astype(np.float64)
                value = (value.astype(np.float64) + s * (b @ a)).astype(value.dtype)
            name = f"{module}.{leaf}"
        out[name] = value
    return out


def lora_of_recipe_dict(recipe: dict[str, Any]) -> dict[str, Any]:
    """`model.lora` of a checkpoint's recorded recipe, normalized ({} when the run had none)."""
    return check_lora((recipe.get("model") or {}).get("lora") or {})
