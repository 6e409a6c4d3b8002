"""`model.lora` and `model.freeze` on a torch model (the torch backend's build, and MindSpore's reference).

    model = prepare(model, recipe)   # before the optimizer is built: frozen parameters stay out of it

LoRA is peft's own: `get_peft_model(model, LoraConfig(...))` injects peft's layers into the
transformers model and freezes every other parameter; the module returned is that transformers model
(not the PeftModel wrapper), so state_dict names are transformers' with peft's layer names inside
(`...q_proj.base_layer.weight`, `...q_proj.lora_A.default.weight`) on both backends. peft's random
init of lora_A runs under torch.manual_seed(train.seed) in a forked RNG, so MindSpore's copy of it
(backends/mindspore/hf_model.py) is the same init. Imports torch and peft inside the calls.
"""

from __future__ import annotations

from typing import Any

from core.finetune.freeze import frozen_names


def apply_peft(model, lora: dict[str, Any], seed: int):
    """`model` with peft's LoRA layers injected (only they train); returns the transformers model itself."""
    import torch
    from peft import get_peft_model

    from core.finetune.lora import peft_config

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        peft_model = get_peft_model(model, peft_config(lora, target_modules=_targets(lora)))
    return peft_model.base_model.model


def _targets(lora: dict[str, Any]):
    targets = lora["target_modules"]
    return targets if targets == "all-linear" else list(targets)


def freeze(model, entries: list[str]) -> None:
    """requires_grad False on every parameter an entry of model.freeze matches (tied names count)."""
    named = list(model.named_parameters(remove_duplicate=False))
    frozen = frozen_names((n for n, _ in named), entries)
    for name, p in named:
        if name in frozen:
            p.requires_grad_(False)


def prepare(model, recipe):
    if recipe.model.lora:
        model = apply_peft(model, recipe.model.lora, recipe.train.seed)
    if recipe.model.freeze:
        freeze(model, recipe.model.freeze)
    return model


def trainable_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
