"""`model.lora` and `model.freeze` on a torch model (the torch backend's build, and MindSpore's reference).

    model = prepare(model, recipe)   # before the optimizer is built: frozen parameters stay out of it

LoRA is peft's own: `get_peft_model(model, LoraConfig(...))` injects peft's layers into the
transformers model and freezes every other parameter; the module returned is that transformers model
(not the PeftModel wrapper), so state_dict names are transformers' with peft's layer names inside
(`...q_proj.base_layer.weight`, `...q_proj.lora_A.default.weight`) on both backends. peft's random
init of lora_A runs under torch.manual_seed(train.seed) in a forked RNG, so MindSpore's copy of it
(backends/mindspore/hf_model.py) is the same init. Imports torch and peft inside the calls.

With both `model.lora` and `model.freeze` (LLaMA-Factory's `finetuning_type: lora` with
`freeze_vision_tower: true`), the frozen part gets no adapter: every module with a parameter that
model.freeze freezes goes to peft's `exclude_modules`, so `target_modules: [q_proj, v_proj]` adapts the
language model only, not also the q_proj/v_proj of a LLaVA's CLIP tower as plain peft would. Each name in
target_modules must match a module (peft's rule: the name itself or a `.name` suffix) outside the frozen
part; one that matches none is a one-line RecipeError.
"""

from __future__ import annotations

import copy
from typing import Any

from core.finetune.freeze import frozen_names


def apply_peft(model, lora: dict[str, Any], seed: int, freeze: list[str] | tuple[str, ...] = ()):
    """`model` with peft's LoRA layers injected (only they train); returns the transformers model itself.
    Modules that `freeze` (model.freeze entries) touches get no adapter (peft's exclude_modules)."""
    import torch
    from peft import get_peft_model

    from core.errors import RecipeError
    from core.finetune.lora import KEY, peft_config

    exclude = excluded_modules(model, freeze)
    config = peft_config(lora, target_modules=_targets(lora), exclude_modules=exclude or None)
    check_targets(model, config, lora["target_modules"], bool(exclude))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            peft_model = get_peft_model(model, config)
        except ValueError as e:  # peft's NoMatchingPeftModuleError, e.g. all-linear with every linear layer frozen
            if type(e).__name__ != "NoMatchingPeftModuleError":
                raise
            where = " outside model.freeze" if exclude else ""
            raise RecipeError(f"recipe key '{KEY}.target_modules' ({lora['target_modules']!r}) adapts no module"
                              f"{where}: {' '.join(str(e).split())}") from None
    return peft_model.base_model.model


def excluded_modules(model, freeze) -> list[str]:
    """Names of the modules with a parameter that the model.freeze entries freeze (tied names count)."""
    if not freeze:
        return []
    named = list(model.named_parameters(remove_duplicate=False))
    frozen_names_ = frozen_names((n for n, _ in named), list(freeze))  # an entry matching nothing: RecipeError
    frozen = {id(p) for n, p in named if n in frozen_names_}
    return [name for name, module in model.named_modules()
            if name and any(id(p) in frozen for p in module.parameters(recurse=False))]


def check_targets(model, config, targets, excluding: bool) -> None:
    """Each name of a target_modules list matches a module, by peft's own rule (check_target_module_exists:
    the full name or a `.name` suffix, not an excluded module); else a one-line RecipeError."""
    if targets == "all-linear":
        return
    from peft.tuners.tuners_utils import check_target_module_exists

    from core.errors import RecipeError
    from core.finetune.lora import KEY

    names = [n for n, _ in model.named_modules() if n]
    for t in targets:
        one = copy.copy(config)
        one.target_modules = {t}
        if any(check_target_module_exists(one, n) for n in names):
            continue
        one.exclude_modules = None  # the same rule, the frozen part included
        if excluding and any(check_target_module_exists(one, n) for n in names):
            raise RecipeError(f"recipe key '{KEY}.target_modules' ({t!r}) matches only modules in the part that "
                              f"model.freeze freezes, which gets no adapter; target a module outside it")
        leaves = sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules() if n and not list(m.children())})
        raise RecipeError(f"recipe key '{KEY}.target_modules' ({t!r}) matches no module of the model "
                          f"(module names end in: {', '.join(leaves[:12])}{', ...' if len(leaves) > 12 else ''})")


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
    if recipe.model.lora:  # every base weight is frozen by peft; model.freeze only keeps adapters out of its part
        return apply_peft(model, recipe.model.lora, recipe.train.seed, recipe.model.freeze)
    if recipe.model.freeze:
        freeze(model, recipe.model.freeze)
    return model


def trainable_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
