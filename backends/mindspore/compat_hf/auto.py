"""transformers.models.auto on MindSpore: AutoModel.from_config builds a composite model's sub-model
(LLaVA's vision tower and language model; Qwen3-VL's, which it imports as `..auto.modeling_auto`) from
the converted family of the sub-config's model_type, the class transformers' own MODEL_MAPPING_NAMES
names (clip_vision_model -> modeling_clip's CLIPVisionModel, siglip_vision_model -> SiglipVisionModel,
llama -> LlamaModel, qwen3_vl_vision -> modeling_qwen3_vl's Qwen3VLVisionModel, ...)."""

from __future__ import annotations

from backends.base import BackendError


class AutoModel:
    @classmethod
    def from_config(cls, config, **kwargs):
        from transformers.models.auto.modeling_auto import MODEL_MAPPING_NAMES

        from backends.mindspore.hf_loader import load_family

        name = MODEL_MAPPING_NAMES.get(config.model_type)
        if name is None:
            raise BackendError(f"AutoModel: transformers maps no base model to model_type '{config.model_type}'")
        name = name[0] if isinstance(name, (tuple, list)) else name
        return getattr(load_family(config.model_type), name)(config)
