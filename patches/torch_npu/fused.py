"""torch_npu fused kernels behind the standard torch spellings, each with a pure-torch reference.

Every routed op is a wrapper around the original: tensors on an NPU go to the fused kernel when
the arguments are ones the kernel supports, everything else goes to the original function, so a
patched process gives the same results on CPU. The `*_reference` functions are what each fused
kernel computes, in plain torch: tests compare them with torch on CPU, and on an NPU host with
the fused kernels.

    rms_norm      torch.nn.functional.rms_norm (also nn.RMSNorm)  -> torch_npu.npu_rms_norm
    rotary        rotate-half RoPE  x*cos + rotate_half(x)*sin     -> torch_npu.npu_rotary_mul
    swiglu        silu(a) * b  with  a, b = x.chunk(2, dim)          -> torch_npu.npu_swiglu
    attention     F.scaled_dot_product_attention (BNSD)             -> torch_npu.npu_fusion_attention
"""

from __future__ import annotations

import functools
import math


def _on_npu(t) -> bool:
    return getattr(getattr(t, "device", None), "type", "") == "npu"


# ---------------------------------------------------------------- pure-torch references


def rms_norm_reference(input, normalized_shape, weight=None, eps=None):
    import torch

    dims = tuple(range(-len(tuple(normalized_shape)), 0))
    eps = torch.finfo(input.dtype).eps if eps is None else eps
    out = input * torch.rsqrt(input.pow(2).mean(dims, keepdim=True) + eps)
    return out * weight if weight is not None else out


def rotate_half(x):
    import torch

    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def rotary_reference(x, cos, sin):
    return x * cos + rotate_half(x) * sin


def swiglu_reference(x, dim=-1):
    import torch.nn.functional as F

    a, b = x.chunk(2, dim=dim)
    return F.silu(a) * b


def attention_reference(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                        enable_gqa=False):
    """softmax(q k^T * scale + mask) v over (B, H, T, hd) tensors, as SDPA defines it."""
    import torch

    L, S = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    if enable_gqa and key.shape[-3] != query.shape[-3]:
        rep = query.shape[-3] // key.shape[-3]
        key, value = key.repeat_interleave(rep, dim=-3), value.repeat_interleave(rep, dim=-3)
    scores = (query @ key.transpose(-2, -1)) * scale  # (B, H, L, S)
    if is_causal:
        keep = torch.ones(L, S, dtype=torch.bool, device=query.device).tril()
        scores = scores.masked_fill(~keep, float("-inf"))
    if attn_mask is not None:
        scores = scores.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == torch.bool else scores + attn_mask
    probs = torch.softmax(scores, dim=-1)
    if dropout_p > 0.0:
        probs = torch.nn.functional.dropout(probs, dropout_p)
    return probs @ value


# ---------------------------------------------------------------- NPU routing wrappers


def route_rms_norm(orig):
    @functools.wraps(orig)
    def rms_norm(input, normalized_shape, weight=None, eps=None):
        if _on_npu(input) and weight is not None and len(tuple(normalized_shape)) == 1:
            import torch
            import torch_npu

            eps = torch.finfo(input.dtype).eps if eps is None else eps
            return torch_npu.npu_rms_norm(input, weight, epsilon=eps)[0]
        return orig(input, normalized_shape, weight, eps)

    return rms_norm


def route_rotary(orig):
    @functools.wraps(orig)
    def rotary(x, cos, sin, *args, **kwargs):
        # cos/sin (T, hd) only: per-row tables (B, 1, T, hd) from packed position_ids take the plain path
        if _on_npu(x) and not args and not kwargs and x.dim() == 4 and cos.dim() == 2:
            import torch_npu

            return torch_npu.npu_rotary_mul(x, cos.expand(1, 1, *cos.shape[-2:]), sin.expand(1, 1, *sin.shape[-2:]))
        return orig(x, cos, sin, *args, **kwargs)

    return rotary


def route_swiglu(orig):
    @functools.wraps(orig)
    def swiglu(x, dim=-1):
        if _on_npu(x):
            import torch_npu

            return torch_npu.npu_swiglu(x, dim=dim)
        return orig(x, dim)

    return swiglu


def route_attention(orig):
    @functools.wraps(orig)
    def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                     **kwargs):
        import torch

        # float (additive) masks are not supported by the fused kernel; GQA is (N2 divides N1)
        fusable = _on_npu(query) and query.dim() == 4 and (attn_mask is None or attn_mask.dtype == torch.bool)
        if not fusable:
            return orig(query, key, value, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal,
                        scale=scale, **kwargs)
        import torch_npu

        L, S = query.shape[-2], key.shape[-2]
        masked = None  # npu_fusion_attention: True = masked out (the opposite of SDPA's bool mask)
        if is_causal:
            masked = torch.ones(L, S, dtype=torch.bool, device=query.device).triu(1)
        if attn_mask is not None:
            masked = ~attn_mask if masked is None else masked | ~attn_mask
        return torch_npu.npu_fusion_attention(
            query, key, value, query.shape[1], input_layout="BNSD", atten_mask=masked,
            scale=1.0 / math.sqrt(query.shape[-1]) if scale is None else scale, keep_prob=1.0 - dropout_p,
        )[0]

    return scaled_dot_product_attention
