"""transformers.modeling_utils on MindSpore: PreTrainedModel as a Cell, the attention registry, and
slice_logits_to_keep.

PreTrainedModel keeps what a converted family's forward and constructor use: `config`, `post_init()`
(weights come from the Hugging Face folder, so no init pass runs), `loss_function` (transformers'
ForCausalLMLoss: shift by one, cross entropy in fp32 with ignore_index -100, mean or sum over
`num_items_in_batch`). Loading from a folder is backends/mindspore/hf_loader.py's job, not
`from_pretrained`.
"""

from __future__ import annotations

import mindspore
from mindspore import mint, nn


def _causal_lm_loss(logits, labels, vocab_size, num_items_in_batch=None, ignore_index=-100, shift_labels=None,
                    **kwargs):
    logits = logits.float()
    if shift_labels is None:
        labels = mint.nn.functional.pad(labels, (0, 1), value=ignore_index)
        shift_labels = labels[..., 1:]
    logits = logits.reshape(-1, vocab_size)
    shift_labels = shift_labels.reshape(-1)
    reduction = "sum" if num_items_in_batch is not None else "mean"
    loss = mint.nn.functional.cross_entropy(logits, shift_labels, ignore_index=ignore_index, reduction=reduction)
    if reduction == "sum":
        loss = loss / num_items_in_batch
    return loss


class PreTrainedModel(nn.Cell):
    config_class = None
    base_model_prefix = ""
    _no_split_modules = None
    supports_gradient_checkpointing = False

    def __init__(self, config, *inputs, **kwargs):
        super().__init__()
        config._attn_implementation = "eager"
        self.config = config

    def post_init(self):
        """No weight init (the folder's weights are loaded afterwards); ties `_tied_weights_keys` (lm_head ->
        embed_tokens) when config.tie_word_embeddings, as transformers does."""
        tied = getattr(self, "_tied_weights_keys", None)
        text = self.config.get_text_config() if hasattr(self.config, "get_text_config") else self.config
        if isinstance(tied, dict) and getattr(text, "tie_word_embeddings", False):
            for target, source in tied.items():
                *owner, name = target.rsplit(".", 1)[0].split("."), target.rsplit(".", 1)[1]
                holder = self
                for part in owner[0]:
                    holder = getattr(holder, part)
                src = self
                for part in source.split("."):
                    src = getattr(src, part)
                setattr(holder, name, src)
        return None

    @property
    def loss_function(self):
        return _causal_lm_loss

    def warn_if_padding_and_no_attention_mask(self, input_ids, attention_mask):
        return None  # transformers only logs here

    @classmethod
    def _from_config(cls, config, **kwargs):
        """A composite model's sub-model from its sub-config (Qwen2-VL's vision tower and text model)."""
        return cls(config)

    @property
    def dtype(self):
        """The dtype of the first floating-point parameter, as transformers' PreTrainedModel.dtype."""
        from mindspore import ops

        return next(p.dtype for p in self.get_parameters() if ops.is_floating_point(p))

    def get_input_embeddings(self):
        """transformers' lookup: `_input_embed_layer` (default embed_tokens) on the model, its `embeddings`, its
        `model`, or the `language_model` it wraps (multimodal models)."""
        name = getattr(self, "_input_embed_layer", "embed_tokens")
        for owner in (self, getattr(self, "embeddings", None), getattr(self, "model", None)):
            if owner is not None and getattr(owner, name, None) is not None:
                return getattr(owner, name)
        language = getattr(self, "language_model", None)
        if language is not None and language is not self and hasattr(language, "get_input_embeddings"):
            return language.get_input_embeddings()
        raise NotImplementedError(f"get_input_embeddings is not found for {type(self).__name__}")


class _AttentionFunctions(dict):
    def get_interface(self, name, default):
        """transformers' registry: the family's own eager attention (converted) for every implementation."""
        return default


ALL_ATTENTION_FUNCTIONS = _AttentionFunctions()


def slice_logits_to_keep(hidden_states, logits_to_keep):
    """An int k keeps the last k positions (0: all); a tensor of positions is not converted yet."""
    if isinstance(logits_to_keep, int):
        return hidden_states if logits_to_keep == 0 else hidden_states[:, -logits_to_keep:, :]
    raise NotImplementedError("logits_to_keep as a tensor is not converted for MindSpore yet")
