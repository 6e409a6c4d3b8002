"""hf-export of a LoRA run (`model.lora` with `model.source: hf:DIR`), called by core/checkpoint/cli.py.

    python -m core.checkpoint hf-export runs/lora/checkpoints OUT/ --merge-lora   # full weights, adapters folded in
    python -m core.checkpoint hf-export runs/lora/checkpoints OUT/                # peft's adapter folder

--merge-lora folds W + (alpha / r) * B @ A into each adapted weight (numpy, float64 then the weight's
dtype) and writes the base model's folder as for any hf: run (core/checkpoint/hf_source.py);
transformers loads it without peft. Without it, OUT is the adapter folder (adapter_config.json,
adapter_model.safetensors) for `peft.PeftModel.from_pretrained(base_model, OUT)`.
"""

from __future__ import annotations

from pathlib import Path

from core.checkpoint.hf import refuse_existing
from core.checkpoint.store import read_meta, resolve
from core.finetune.lora import adapter_files, lora_of_recipe_dict, merged_weights, write_adapter


def run_lora(args, path: Path) -> dict:
    """`model.lora` of the run (from --recipe, or the checkpoint's recorded recipe); {} when it had none."""
    if args.recipe:
        from core.recipe import load_recipe

        return load_recipe(args.recipe, args.overrides).model.lora
    if not path.is_dir():
        return {}
    return lora_of_recipe_dict(read_meta(resolve(path, verify=True)).get("recipe") or {})


def export_lora(weights, folder: Path, config: dict, lora: dict, out_dir, merge: bool, **export_kwargs) -> Path:
    if merge:
        from core.checkpoint.hf_source import export_hf_source

        return export_hf_source(merged_weights(weights, lora), folder, config, out_dir, **export_kwargs)
    out = Path(out_dir)
    refuse_existing(out)
    return write_adapter(out, adapter_files(weights, lora, str(Path(folder).resolve())))
