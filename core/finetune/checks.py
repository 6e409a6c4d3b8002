"""Recipe validation of `model.freeze` and `model.lora` (core.recipe.validate calls check_recipe)."""

from __future__ import annotations

from core.errors import RecipeError
from core.finetune.freeze import check_entries
from core.finetune.lora import check_lora


def check_recipe(r) -> None:
    check_entries(r.model.freeze)
    r.model.lora = check_lora(r.model.lora)
    if r.model.lora and not r.model.source.startswith("hf:"):
        raise RecipeError("recipe key 'model.lora' needs model.source: hf:DIR (a Hugging Face folder); "
                          "for our own models use model.freeze")
    # model.lora with model.freeze: LoRA freezes every base weight, and the part model.freeze names gets no
    # adapter either (core/finetune/torch_model.py, peft's exclude_modules)
