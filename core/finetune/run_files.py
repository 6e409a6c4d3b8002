"""A LoRA run's adapter files at each save: into the checkpoint folder and the run's `adapter/` folder.

Both are peft adapter folders: `peft.PeftModel.from_pretrained(transformers_model, FOLDER)` loads them.
"""

from __future__ import annotations

from pathlib import Path

from core.finetune.lora import adapter_files, write_adapter
from core.hfmodel import source_folder


def adapter_files_of_run(recipe, weights, run_dir: Path) -> dict[str, bytes]:
    base = str(source_folder(recipe.model.source, recipe.base_dir).resolve())
    files = adapter_files(weights, recipe.model.lora, base)
    write_adapter(Path(run_dir) / "adapter", files)
    return files
