"""torch.nn.MultiheadAttention and F.multi_head_attention_forward for MindSpore, with torch's names.

    mha = MultiheadAttention(embed_dim=E, num_heads=H, batch_first=True)
    out, weights = mha(q, k, v, key_padding_mask=kpm, attn_mask=mask)
        q: (N, L, E) batch_first / (L, N, E) / unbatched (L, E); k: (.., S, kdim); v: (.., S, vdim)
        key_padding_mask: (N, S) or (S,), bool (True = ignore) or float (added)
        attn_mask: (L, S) or (N*H, L, S), bool (True = not allowed) or float (added)
        out: like q; weights: (N, L, S) averaged over heads, (N, H, L, S) with average_attn_weights=False,
             None with need_weights=False

Parameters as torch's state_dict: `in_proj_weight` (3E, E) and `in_proj_bias` (3E), or
`q_proj_weight` (E, E) / `k_proj_weight` (E, kdim) / `v_proj_weight` (E, vdim) when kdim or vdim
differ from E; `out_proj.weight` (E, E), `out_proj.bias` (E); `bias_k` / `bias_v` (1, 1, E) with
add_bias_kv. Same initial distributions as torch (xavier_uniform, zero biases, xavier_normal bias_kv).
The computation follows torch's math path: bool masks become -inf additive masks, key padding is
added to attn_mask, need_weights=True uses bmm + softmax, need_weights=False scaled-dot-product
attention. The packed projection is computed as three linears on the chunks of in_proj_weight (the
same numbers as torch's one packed linear up to float rounding). Not supported: static_k/static_v
(NotImplementedError). Dropout draws MindSpore's random numbers, not torch's.
Free of torch: converted code imports it at run time. CPU kernels missing in MindSpore (layer_norm,
gelu, ...) are filled in by patches.mindspore, as for all converted code.
"""

from __future__ import annotations

import math

import mindspore
from mindspore import mint, nn
from mindspore.common.initializer import Constant, XavierNormal, XavierUniform, initializer

from backends.mindspore import compat

__all__ = ["MultiheadAttention", "multi_head_attention_forward"]


def _float_mask(mask, dtype):
    """torch's _canonical_mask: a bool mask -> 0 / -inf of `dtype`; a float mask is kept."""
    if mask is None:
        return None
    if mask.dtype == mindspore.bool_:
        return mint.zeros(mask.shape, dtype=dtype).masked_fill(mask, float("-inf"))
    return mask


def _pad_last(mask):
    """F.pad(mask, (0, 1)): one zero column at the end of the last dim."""
    return mint.cat([mask, mint.zeros((*mask.shape[:-1], 1), dtype=mask.dtype)], dim=-1)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                                 is_causal=False):
    """torch.nn.functional.multi_head_attention_forward; query (L, N, E) or (L, E), key/value (S, N, *)."""
    if static_k is not None or static_v is not None:
        raise NotImplementedError("multi_head_attention_forward: static_k / static_v are not supported")
    is_batched = query.ndim == 3
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    if embed_dim != embed_dim_to_check:
        raise ValueError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise ValueError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    key_padding_mask = _float_mask(key_padding_mask, query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint.")
    sdpa_causal = is_causal and key_padding_mask is None and not need_weights
    attn_mask = None if sdpa_causal else _float_mask(attn_mask, query.dtype)

    # Slices, not mint.chunk: under mindspore.jit (2.10, CPU) two chunk calls on two parameters in one
    # graph (a decoder layer's self- and cross-attention) give the second parameter a wrong gradient.
    e = embed_dim
    if use_separate_proj_weight:
        w_q, w_k, w_v = q_proj_weight, k_proj_weight, v_proj_weight
    else:
        w_q, w_k, w_v = in_proj_weight[:e], in_proj_weight[e:2 * e], in_proj_weight[2 * e:]
    b_q = b_k = b_v = None
    if in_proj_bias is not None:
        b_q, b_k, b_v = in_proj_bias[:e], in_proj_bias[e:2 * e], in_proj_bias[2 * e:]
    linear = mint.nn.functional.linear
    q, k, v = linear(query, w_q, b_q), linear(key, w_k, b_k), linear(value, w_v, b_v)  # (L|S, N, E)

    if attn_mask is not None and attn_mask.ndim == 2:
        attn_mask = attn_mask.unsqueeze(0)  # (1, L, S); 3-D masks are (N*H, L, S)
    if bias_k is not None and bias_v is not None:
        k = mint.cat([k, mint.broadcast_to(bias_k, (1, bsz, embed_dim))])
        v = mint.cat([v, mint.broadcast_to(bias_v, (1, bsz, embed_dim))])
        if attn_mask is not None:
            attn_mask = _pad_last(attn_mask)
        if key_padding_mask is not None:
            key_padding_mask = _pad_last(key_padding_mask)
    elif bias_k is not None or bias_v is not None:
        raise ValueError("bias_k and bias_v must be given together")

    q = mint.transpose(q.reshape(tgt_len, bsz * num_heads, head_dim), 0, 1)  # (N*H, L, hd)
    k = mint.transpose(k.reshape(k.shape[0], bsz * num_heads, head_dim), 0, 1)  # (N*H, S, hd)
    v = mint.transpose(v.reshape(v.shape[0], bsz * num_heads, head_dim), 0, 1)
    if add_zero_attn:
        zeros = mint.zeros((bsz * num_heads, 1, head_dim), dtype=k.dtype)
        k, v = mint.cat([k, zeros], dim=1), mint.cat([v, zeros], dim=1)
        if attn_mask is not None:
            attn_mask = _pad_last(attn_mask)
        if key_padding_mask is not None:
            key_padding_mask = _pad_last(key_padding_mask)
    src_len = k.shape[1]
    if key_padding_mask is not None:
        kpm = mint.broadcast_to(key_padding_mask.reshape(bsz, 1, 1, src_len), (bsz, num_heads, 1, src_len))
        kpm = kpm.reshape(bsz * num_heads, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0

    if need_weights:
        q_scaled = q * math.sqrt(1.0 / float(head_dim))
        weights = mint.bmm(q_scaled, mint.transpose(k, -2, -1))  # (N*H, L, S)
        if attn_mask is not None:
            weights = weights + attn_mask
        weights = mint.softmax(weights, dim=-1)
        if dropout_p > 0.0:
            weights = mint.nn.functional.dropout(weights, p=dropout_p, training=True)
        out = mint.bmm(weights, v)  # (N*H, L, hd)
        out = mint.transpose(out, 0, 1).reshape(tgt_len * bsz, embed_dim)
        out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(1)
        if not is_batched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        return out, weights

    if attn_mask is not None:
        if attn_mask.shape[0] == 1:
            attn_mask = attn_mask.unsqueeze(0)  # (1, 1, L, S)
        else:
            attn_mask = attn_mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    out = compat.scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, sdpa_causal)  # (N, H, L, hd)
    out = mint.permute(out, (2, 0, 1, 3)).reshape(bsz * tgt_len, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    if not is_batched:
        out = out.squeeze(1)
    return out, None


def _param(init, shape, dtype):
    return mindspore.Parameter(initializer(init, shape, dtype or mindspore.float32))


class MultiheadAttention(nn.Cell):
    """torch.nn.MultiheadAttention (see the module docstring for shapes and parameter names)."""

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, device=None, dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got {embed_dim} and {num_heads}")
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise ValueError("embed_dim must be divisible by num_heads")
        if self._qkv_same_embed_dim:
            self.in_proj_weight = _param(XavierUniform(), (3 * embed_dim, embed_dim), dtype)
            self.q_proj_weight = self.k_proj_weight = self.v_proj_weight = None
        else:
            self.q_proj_weight = _param(XavierUniform(), (embed_dim, embed_dim), dtype)
            self.k_proj_weight = _param(XavierUniform(), (embed_dim, self.kdim), dtype)
            self.v_proj_weight = _param(XavierUniform(), (embed_dim, self.vdim), dtype)
            self.in_proj_weight = None
        self.in_proj_bias = _param(Constant(0.0), (3 * embed_dim,), dtype) if bias else None
        self.out_proj = mint.nn.Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        if bias:
            self.out_proj.bias.set_data(initializer(Constant(0.0), self.out_proj.bias.shape, self.out_proj.bias.dtype))
        if add_bias_kv:
            self.bias_k = _param(XavierNormal(), (1, 1, embed_dim), dtype)
            self.bias_v = _param(XavierNormal(), (1, 1, embed_dim), dtype)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn

    def construct(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                  average_attn_weights=True, is_causal=False):
        is_batched = query.ndim == 3
        if self.batch_first and is_batched:
            query, key, value = mint.transpose(query, 1, 0), mint.transpose(key, 1, 0), mint.transpose(value, 1, 0)
        out, weights = multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight, self.in_proj_bias,
            self.bias_k, self.bias_v, self.add_zero_attn, self.dropout, self.out_proj.weight, self.out_proj.bias,
            training=self.training, key_padding_mask=key_padding_mask, need_weights=need_weights,
            attn_mask=attn_mask, use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight, v_proj_weight=self.v_proj_weight,
            average_attn_weights=average_attn_weights, is_causal=is_causal)
        if self.batch_first and is_batched:
            out = mint.transpose(out, 1, 0)
        return out, weights
