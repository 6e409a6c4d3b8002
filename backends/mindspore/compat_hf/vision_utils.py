"""transformers.vision_utils on MindSpore: transformers' own file, converted by the codemods
(hf_loader.load_shared), not rewritten: the vision encoders' packed-sequence helpers (cu_seqlens from
grid_thw, the (h, w) rotary position ids, Qwen2.5-VL's window index, Qwen3-VL's
bilinear resampling of its learned position table) are plain tensor code."""

from __future__ import annotations

from backends.mindspore.hf_loader import load_shared

_converted = load_shared("vision_utils")
get_vision_cu_seqlens = _converted.get_vision_cu_seqlens
get_vision_attention_seqlens = _converted.get_vision_attention_seqlens
get_vision_position_ids = _converted.get_vision_position_ids
get_vision_window_index = _converted.get_vision_window_index
get_vision_interpolation_indices_and_weights = _converted.get_vision_interpolation_indices_and_weights
