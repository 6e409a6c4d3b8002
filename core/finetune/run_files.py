"""A LoRA run's adapter files at each save, for the checkpoint folder and the run's `adapter/` folder.

Both are peft adapter folders: `peft.PeftModel.from_pretrained(transformers_model, FOLDER)` loads them.

    files = adapter_files_of_run(recipe, backend.state_dict())   # name -> bytes; writes nothing
    write_adapter(run_dir / "adapter", files)
"""

from __future__ import annotations

from core.finetune.lora import adapter_files
from core.hfmodel import source_folder


def adapter_files_of_run(recipe, weights) -> dict[str, bytes]:
    """peft's adapter_config.json and adapter_model.safetensors of the LoRA weights in `weights`."""
    base = str(source_folder(recipe.model.source, recipe.base_dir).resolve())
    return adapter_files(weights, recipe.model.lora, base)
