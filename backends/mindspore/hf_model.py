"""`model.source: hf:DIR` on the MindSpore backend: the folder's family, from transformers' own modeling
source converted by the codemods (backends/mindspore/hf_loader.py), with the folder's weights by their
Hugging Face names.

The model has the trainer's contract, as on torch (core/hfmodel.contract_class): `construct(input_ids,
labels=None, attention_mask=None, position_ids=None, segment_ids=None)` returns the logits (B, T, V), or
with labels (already the next tokens, -100 ignored) the mean cross-entropy, plus the MoE router loss
where the config asks for it. Packed rows go the same way as on torch: position_ids to the model; with
segment_ids the 2-D attention_mask is left out, so compat_hf/masking_utils (as transformers) starts a new
block of the causal mask wherever position_ids restart.
Parameters keep transformers' names (the converted class is subclassed, not wrapped), so checkpoints
of either backend hold the same keys. Weights load strictly: a missing, extra or misshapen tensor is
a one-line error naming the folder (tied weights, `lm_head.weight` -> embeddings, are one parameter).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from core.errors import RecipeError
from core.hfmodel import check_config, family_of, inspect_folder, source_folder


@functools.cache
def contract_class(converted: type) -> type:
    """The converted causal-LM class with the trainer's construct; names and parameters stay its own."""
    from mindspore import mint

    class CausalLM(converted):
        def construct(self, input_ids, labels=None, attention_mask=None, position_ids=None, segment_ids=None):
            if segment_ids is not None and position_ids is None:
                raise ValueError("segment_ids (neat packing) need position_ids that restart at 0 in each sample")
            mask = None if segment_ids is not None else attention_mask
            out = super().construct(input_ids=input_ids, attention_mask=mask, position_ids=position_ids,
                                    use_cache=False)
            logits = out.logits  # (B, T, V)
            if labels is None:
                return logits
            loss = mint.nn.functional.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1),
                                                    ignore_index=-100)
            aux = getattr(out, "aux_loss", None)
            if aux is not None and segment_ids is not None:  # the router loss over real tokens only, as on torch
                balance = sys.modules[converted.__module__].load_balancing_loss_func
                aux = balance(out.router_logits, self.num_experts, self.num_experts_per_tok, segment_ids != 0)
            if aux is not None:
                loss = loss + self.config.router_aux_loss_coef * aux
            return loss

    CausalLM.__name__ = converted.__name__
    CausalLM.__qualname__ = f"mindbridge.{converted.__name__}"
    return CausalLM


def load_mindspore_model(folder: str | Path, config: dict | None = None, lora: dict | None = None, seed: int = 0,
                         freeze: list[str] | tuple[str, ...] = ()):
    """The folder's model on MindSpore, fp32 master weights, with the trainer's construct.

    The weights are read by transformers itself (core.hfmodel.load_torch_model: its checkpoint
    conversions, e.g. per-expert MoE tensors fused into `experts.gate_up_proj`, and its strict name and
    shape checks), then copied into the converted model by name: the two hold the same parameter names."""
    import mindspore as ms

    from backends.mindspore.hf_loader import load_family
    from core.hfmodel import load_torch_model

    info = inspect_folder(folder)
    family = family_of(info)
    check_config(info, config or {})
    reference = load_torch_model(info.path, config)
    if lora:  # model.lora: peft's adapters on the reference give the names and the initial weights (core/finetune)
        from core.finetune.torch_model import apply_peft

        reference = apply_peft(reference, lora, seed, freeze)  # model.freeze's part: no adapter, as on torch
    weights = {k: v.detach().float().numpy() for k, v in reference.state_dict().items()}
    converted = getattr(load_family(info.model_type), family.model_class)
    if family.vision:  # image slots in the batch (backends/mindspore/hf_vlm.py, as core/hfvision.py on torch)
        from backends.mindspore.hf_vlm import contract_class as vision_contract_class

        model = vision_contract_class(converted)(reference.config)
    else:
        model = contract_class(converted)(reference.config)
    del reference
    if lora:
        from backends.mindspore.finetune import inject_lora

        inject_lora(model, lora, weights)
    params = dict(model.parameters_and_names())
    missing = sorted(set(params) - set(weights))
    misshapen = sorted(n for n in params if n in weights and tuple(params[n].shape) != weights[n].shape)
    for what, names in (("missing keys", missing), ("mismatched keys", misshapen)):
        if names:
            raise RecipeError(f"{info.path}: the converted {family.model_class} does not fit the folder's weights: "
                              f"{what} {names[:5]}")
    for name, p in params.items():
        p.set_data(ms.Tensor(weights[name]))
    return model


def build_mindspore_model(recipe):
    """The MindSpore backend's build for `model.source: hf:DIR`."""
    return load_mindspore_model(source_folder(recipe.model.source, recipe.base_dir), recipe.model.config,
                                lora=recipe.model.lora, seed=recipe.train.seed, freeze=recipe.model.freeze)
