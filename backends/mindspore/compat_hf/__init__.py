"""transformers' shared machinery for MindSpore: what a converted modeling file imports from `...`.

backends/mindspore/hf_loader.py converts a family's own modeling source
(transformers/models/<family>/modeling_<family>.py) with the codemods and points its relative
imports at the modules here, one per transformers module it replaces (same names):

| transformers module        | here (compat, MindSpore)                                          |
|----------------------------|-------------------------------------------------------------------|
| activations                | ACT2FN over mindspore.mint activations (quick_gelu included)      |
| models.auto (`..auto`, `..auto.modeling_auto`) | AutoModel.from_config: the converted family's base model for a sub-config's model_type (LLaVA; Qwen3-VL's vision and text models) |
| cache_utils                | Cache, DynamicCache: refused (no KV cache: training and full-sequence forward only) |
| generation                 | GenerationMixin: an empty base (no .generate())                   |
| initialization             | normal_/zeros_/ones_/constant_ for a family's _init_weights       |
| integrations               | hub-kernel and experts-implementation decorators: identity        |
| masking_utils              | create_causal_mask: an additive float mask (causal + padding)     |
| modeling_layers            | GradientCheckpointingLayer (a Cell), the Generic* heads (refused) |
| modeling_rope_utils        | ROPE_INIT_FUNCTIONS (default rope only), dynamic_rope_update      |
| pytorch_utils              | Conv1D (GPT-2's transposed linear)                                |
| utils                      | transformers' own, but torch_compilable_check checks MindSpore tensors |
| utils.generic              | transformers' own, but maybe_autocast is a no-op context          |
| modeling_utils             | PreTrainedModel (a Cell with config, post_init, loss_function, _from_config, dtype, get_input_embeddings), ALL_ATTENTION_FUNCTIONS (eager), slice_logits_to_keep |
| utils.output_capturing     | capture_outputs (hidden states with index selection and tie-last, attentions, router logits), select_hidden_states |
| vision_utils               | transformers' own file, converted by the codemods (hf_loader.load_shared) |

Everything else the file imports (its configuration class, modeling_outputs, the rest of utils,
processing_utils) is framework-neutral and comes from transformers itself. Each piece is tested
end to end against transformers (logits and training) in tests/hf/test_hf_mindspore.py and, for the
vision-language families, tests/hf/test_vlm_mindspore.py.
"""
