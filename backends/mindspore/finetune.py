"""`model.lora` and `model.freeze` on the MindSpore backend: the same adapters and frozen set as on torch.

LoRA: `inject_lora` puts the conversion of core/finetune/lora_layer/lora_linear.py (plain torch
source, through the codemods and their cache like any model source) around every linear layer that
peft adapted on the torch reference, so the Cell's parameter names are peft's
(`<target>.base_layer.weight`, `<target>.lora_A.default.weight`, ...); hf_model.load_mindspore_model
then copies peft's initial weights in by name. `prepare` (runtime.build, before the optimizer) sets
requires_grad False on what does not train, so those parameters are neither in the grad function's
weights nor in the optimizer (both take `trainable_params()`).
"""

from __future__ import annotations

from pathlib import Path

from core.finetune.freeze import frozen_names
from core.finetune.lora import is_lora_param, targets_of

LAYER = Path(__file__).resolve().parents[2] / "core" / "finetune" / "lora_layer" / "lora_linear.py"


def lora_class():
    from backends.mindspore.importer import load_converted_class
    from core.modelsource import resolve_model_source

    return load_converted_class(resolve_model_source(f"{LAYER}:LoraLinear"))


def inject_lora(model, lora: dict, weights) -> None:
    """Wrap the linear cells peft adapted (the modules of `weights`' lora_A names) in the converted LoraLinear."""
    cls = lora_class()
    cells = dict(model.cells_and_names())
    for name in targets_of(weights):
        parent_name, _, attr = name.rpartition(".")
        parent = cells[parent_name] if parent_name else model
        base = getattr(parent, attr)
        out_features, in_features = base.weight.shape
        setattr(parent, attr, cls(base, in_features, out_features, lora["r"], lora["alpha"], lora["dropout"]))
        if isinstance(getattr(parent, "cell_list", None), list):
            # a SequentialCell (torch's nn.Sequential, e.g. Qwen2-VL's merger `mlp.0`) runs its `cell_list`, which
            # setattr leaves holding the bare linear: without this the adapter gets no input and no gradient
            parent.cell_list = list(parent._cells.values())
    for name, p in _named_parameters(model):
        if is_lora_param(name):  # unique names: the optimizer refuses two Parameters named 'q_proj.lora_A...'
            p.name = name


def _named_parameters(model):
    """(torch state_dict name, Parameter) for every name a parameter has (a tied one under each)."""
    for prefix, cell in model.cells_and_names():
        for name, p in cell._params.items():
            if p is not None:
                yield (f"{prefix}." if prefix else "") + name, p


def prepare(model, recipe) -> None:
    named = list(_named_parameters(model))
    if recipe.model.lora:
        frozen = {n for n, _ in named if not is_lora_param(n)}
    elif recipe.model.freeze:
        frozen = frozen_names((n for n, _ in named), recipe.model.freeze)
    else:
        return
    for name, p in named:
        if name in frozen:
            p.requires_grad = False
