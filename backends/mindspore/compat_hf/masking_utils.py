"""transformers.masking_utils.create_causal_mask on MindSpore: an additive float mask.

The eager attention adds the mask to the scores (B, H, Q, K): 0 where a query may attend, the dtype's
minimum where it may not (a later position, or a key whose attention_mask is 0), as transformers'
eager path does.

Packed rows as transformers reads them: with position_ids and no attention_mask (no cache), each place
where position_ids do not go up by one starts a new sequence (find_packed_sequence_indices), a query
sees only keys of its own sequence, and causality and the sliding window compare position_ids
(remap_positions_for_packed_sequence). Rows whose position_ids just count up give the plain causal mask.
"""

from __future__ import annotations

import numpy as np

import mindspore
from mindspore import mint


# torch.finfo(dtype).min, as transformers' eager masks use
_MIN = {mindspore.float16: float(np.finfo(np.float16).min), mindspore.float64: float(np.finfo(np.float64).min),
        mindspore.bfloat16: -3.3895313892515355e38}


def create_causal_mask(config, inputs_embeds, attention_mask, cache=None, position_ids=None, **kwargs):
    """(B, 1, T, T) additive mask for a full sequence (no cache)."""
    return _mask(inputs_embeds, attention_mask, cache, position_ids, window=None)


def create_sliding_window_causal_mask(config, inputs_embeds, attention_mask, cache=None, position_ids=None,
                                      **kwargs):
    """As create_causal_mask, and a query sees only the `config.sliding_window` latest keys (itself included),
    as transformers' sliding_window_overlay: q - window < k <= q."""
    return _mask(inputs_embeds, attention_mask, cache, position_ids, window=getattr(config, "sliding_window", None))


def _mask(inputs_embeds, attention_mask, cache, position_ids, window):
    if cache is not None:
        raise NotImplementedError("attention masks with a KV cache are not converted for MindSpore yet")
    if attention_mask is not None and attention_mask.ndim == 4:  # already a 4-D mask: transformers passes it through
        return attention_mask
    b, t = inputs_embeds.shape[0], inputs_embeds.shape[1]
    dtype = inputs_embeds.dtype
    if attention_mask is None and position_ids is not None:
        allowed = _packed(position_ids.broadcast_to((b, t)), window)  # (B, 1, T, T)
    else:
        allowed = mint.tril(mint.ones((t, t), dtype=mindspore.bool_))  # (T, T): key <= query
        if window is not None:
            allowed = mint.logical_and(allowed, mint.triu(mint.ones((t, t), dtype=mindspore.bool_),
                                                          diagonal=-(window - 1)))
        allowed = allowed[None, None]  # (1, 1, T, T)
    if attention_mask is not None:
        allowed = mint.logical_and(allowed, attention_mask.astype(mindspore.bool_)[:, None, None, :])
    low = mindspore.Tensor(_MIN.get(dtype, float(np.finfo(np.float32).min)), dtype)
    zero = mindspore.Tensor(0.0, dtype)
    return mint.where(allowed, zero, low).broadcast_to((b, 1, t, t))


def _packed(position_ids, window):
    """(B, 1, T, T) bool: same sequence (a new one wherever position_ids do not go up by one), and
    key position <= query position (and > query position - window)."""
    from mindspore import ops

    pos = position_ids.astype(mindspore.int64)
    step = pos[:, 1:] - pos[:, :-1]  # (B, T-1)
    starts = mint.cat([mint.zeros((pos.shape[0], 1), dtype=mindspore.int32), (step != 1).astype(mindspore.int32)], 1)
    seq = ops.cumsum(starts, 1)  # (B, T): which packed sequence each position belongs to
    q, k = pos[:, :, None], pos[:, None, :]  # (B, T, 1), (B, 1, T)
    allowed = mint.logical_and(seq[:, :, None] == seq[:, None, :], k <= q)
    if window is not None:
        allowed = mint.logical_and(allowed, k > q - window)
    return allowed[:, None]


def create_bidirectional_mask(config, inputs_embeds, attention_mask, encoder_hidden_states=None, **kwargs):
    """(B, 1, T, S) additive padding mask (no causal part), or None without an attention_mask."""
    if attention_mask is None:
        return None
    if attention_mask.ndim == 4:
        return attention_mask
    dtype = inputs_embeds.dtype
    t = inputs_embeds.shape[1]
    allowed = attention_mask.astype(mindspore.bool_)[:, None, None, :]
    low = mindspore.Tensor(_MIN.get(dtype, float(np.finfo(np.float32).min)), dtype)
    return mint.where(allowed, mindspore.Tensor(0.0, dtype), low).broadcast_to(
        (attention_mask.shape[0], 1, t, attention_mask.shape[-1]))
