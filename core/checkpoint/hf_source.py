"""hf-export for runs of `model.source: hf:DIR`: a checkpoint of either backend -> a folder transformers loads.

    python -m core.checkpoint hf-export runs/my_qwen/checkpoints OUT/          # newest complete checkpoint
    python -m core.checkpoint hf-export runs/my_qwen/checkpoints OUT/ --dtype bfloat16 --max-shard-size 2GB

The checkpoint already holds Hugging Face names (both backends train transformers' own classes), so
no adapter is involved: transformers builds the source folder's model (core.hfmodel.load_torch_model,
with the run's model.config), the checkpoint's tensors are loaded over it strictly (a missing, extra
or misshapen tensor is a one-line error), and `save_pretrained` writes config.json and the weights
(sharded with an index past --max-shard-size; a tied head stored once; MoE experts in transformers'
own layout). The source folder's tokenizer and generation files are copied unchanged. The folder is
written under a temporary name and renamed into place, and an existing non-empty OUT is refused.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from core.atomic import atomic_dir
from core.checkpoint.hf import HFError, refuse_existing
from core.hfmodel import GENERATION_FILES, PROCESSOR_FILES, TOKENIZER_FILES, family_of, inspect_folder, tensor_summary

_TORCH_DTYPES = {"float32": "float32", "float16": "float16", "bfloat16": "bfloat16"}
_ST_TO_NAME = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}


def source_dtype(folder: Path) -> str:
    """The dtype most of the source folder's tensors are stored in (what `--dtype auto` exports)."""
    _, dtypes, _ = tensor_summary(inspect_folder(folder))
    return _ST_TO_NAME.get(dtypes.most_common(1)[0][0], "float32") if dtypes else "float32"


def export_hf_source(weights: dict[str, np.ndarray], folder: str | Path, config: dict | None, out_dir: str | Path,
                     dtype: str = "auto", max_shard_size: str | int | None = None) -> Path:
    """Write OUT_DIR from checkpoint `weights` (HF names) of a run whose model.source was hf:`folder`."""
    import torch

    from core.hfmodel import load_torch_model

    out = Path(out_dir)
    refuse_existing(out)
    info = inspect_folder(folder)
    family_of(info)
    dtype = source_dtype(info.path) if dtype == "auto" else dtype
    if dtype not in _TORCH_DTYPES:
        raise HFError(f"export dtype {dtype!r} (choose auto, float32, float16 or bfloat16)")
    model = load_torch_model(info.path, config)
    _load_checkpoint_weights(model, weights, info.path)
    model.to(getattr(torch, _TORCH_DTYPES[dtype]))
    with atomic_dir(out) as tmp:
        kwargs = {"max_shard_size": max_shard_size} if max_shard_size else {}
        model.save_pretrained(str(tmp), **kwargs)
        for name in TOKENIZER_FILES + GENERATION_FILES + PROCESSOR_FILES:  # the user's files win over what save_pretrained wrote
            if (info.path / name).is_file():
                shutil.copyfile(info.path / name, tmp / name)
    return out


def _load_checkpoint_weights(model, weights: dict[str, np.ndarray], folder: Path) -> None:
    """The checkpoint over the folder's model; names and shapes must fit exactly (tied heads may be absent)."""
    import torch

    expected = model.state_dict()
    tied = _tied_names(model)
    missing = sorted(set(expected) - set(weights) - tied)
    unexpected = sorted(set(weights) - set(expected))
    misshapen = sorted(k for k in set(weights) & set(expected) if tuple(weights[k].shape) != tuple(expected[k].shape))
    for what, names in (("missing keys", missing), ("unexpected keys", unexpected), ("mismatched shapes", misshapen)):
        if names:
            detail = ", ".join(f"{k} {tuple(weights[k].shape)} vs {tuple(expected[k].shape)}" for k in names[:3]) \
                if what == "mismatched shapes" else str(names[:5])
            raise HFError(f"the checkpoint does not fit the model of {folder / 'config.json'}: {what} {detail}")
    with torch.no_grad():
        for name, value in weights.items():
            expected[name].copy_(torch.from_numpy(np.ascontiguousarray(value)))


def _tied_names(model) -> set[str]:
    """State-dict names that share storage with an earlier name (e.g. lm_head.weight tied to the embeddings)."""
    seen: dict[int, str] = {}
    tied = set()
    for name, tensor in model.state_dict(keep_vars=True).items():
        key = id(tensor)
        if key in seen:
            tied.add(name)
        seen.setdefault(key, name)
    return tied
