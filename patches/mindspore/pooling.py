"""Pooling fallbacks for mint.nn.functional.max_pool2d / avg_pool2d / adaptive_avg_pool2d, which
have no CPU kernel in MindSpore 2.10 (FuncMaxPool2D, AvgPool2D, AdaptiveAvgPool2DExt), with torch
semantics: stride defaults to kernel_size, int or pair arguments, (C, H, W) or (N, C, H, W) input,
padding, dilation, ceil_mode, return_indices (int64 flat H*W indices), count_include_pad,
divisor_override, adaptive output sizes with None.

Built from the legacy CPU kernels behind ops.max_pool2d (MaxPoolWithArgmaxV2), ops.avg_pool2d
(AvgPool3D) and ops.adaptive_avg_pool2d, which agree with torch on all of the above, ties and
ceil-mode windows included (tests/patches/test_ms_fallback_split_pool.py); graph-mode safe.
"""

from __future__ import annotations

import mindspore as ms
from mindspore import ops

_max_pool2d = ops.max_pool2d
_avg_pool2d = ops.avg_pool2d
_adaptive_avg_pool2d = ops.adaptive_avg_pool2d
_expand_dims = ops.expand_dims
_squeeze = ops.squeeze
_cast = ops.cast


def _pair(v):
    if isinstance(v, int):
        return (v, v)
    if len(v) == 1:
        return (v[0], v[0])
    return (v[0], v[1])


def _stride(stride, kernel):
    """torch: stride None (or an empty list) means kernel_size."""
    if stride is None:
        return kernel
    if isinstance(stride, int):
        return (stride, stride)
    if len(stride) == 0:
        return kernel
    return _pair(stride)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    k = _pair(kernel_size)
    s = _stride(stride, k)
    p, d = _pair(padding), _pair(dilation)
    x = input if input.ndim == 4 else _expand_dims(input, 0)  # (N, C, H, W)
    out, idx = _max_pool2d(x, k, s, p, d, True, ceil_mode)
    if input.ndim == 3:
        out, idx = _squeeze(out, 0), _squeeze(idx, 0)
    if return_indices:
        return out, _cast(idx, ms.int64)
    return out


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    k = _pair(kernel_size)
    s = _stride(stride, k)
    p = _pair(padding)
    x = input if input.ndim == 4 else _expand_dims(input, 0)  # (N, C, H, W)
    out = _avg_pool2d(x, k, s, (p[0], p[0], p[1], p[1]), ceil_mode, count_include_pad,
                      0 if divisor_override is None else divisor_override)
    if input.ndim == 3:
        out = _squeeze(out, 0)
    return out


def adaptive_avg_pool2d(input, output_size):
    if isinstance(output_size, int):
        size = (output_size, output_size)
    else:
        size = (input.shape[-2] if output_size[0] is None else output_size[0],
                input.shape[-1] if output_size[1] is None else output_size[1])
    return _adaptive_avg_pool2d(input, size)
