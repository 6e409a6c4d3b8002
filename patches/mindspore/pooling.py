"""Pooling fallbacks for mint.nn.functional.max_pool2d / avg_pool2d / adaptive_avg_pool2d and the
1-D / 3-D avg_pool, adaptive_avg_pool, adaptive_max_pool1d and max_unpool2d, which have no CPU kernel in
MindSpore 2.10 (FuncMaxPool2D, AvgPool2D, AdaptiveAvgPool2DExt, ...), with torch semantics:
stride defaults to kernel_size, int or tuple arguments, unbatched or batched input, padding,
dilation, ceil_mode, return_indices (int64, flat per-plane indices, first maximum on ties),
count_include_pad, divisor_override, adaptive output sizes with None.

Built from the legacy CPU kernels behind ops.max_pool2d (MaxPoolWithArgmaxV2), ops.avg_pool2d /
avg_pool3d (AvgPool3D), ops.adaptive_avg_pool2d / 3d and ops.adaptive_max_pool2d (1-D pooling is
2-D pooling over a (N, C, 1, L) image), which agree with torch on all of the above, ties and
ceil-mode windows included (tests/patches/test_ms_fallback_split_pool.py); graph-mode safe.
"""

from __future__ import annotations

import mindspore as ms
from mindspore import ops

from patches.mindspore.args import check_rank as _check_rank
from patches.mindspore.args import ntuple as _ntuple

_max_pool2d = ops.max_pool2d
_avg_pool2d = ops.avg_pool2d
_adaptive_avg_pool2d = ops.adaptive_avg_pool2d
_adaptive_max_pool2d = ops.adaptive_max_pool2d
_avg_pool3d = ops.avg_pool3d
_adaptive_avg_pool3d = ops.adaptive_avg_pool3d
_expand_dims = ops.expand_dims
_squeeze = ops.squeeze
_cast = ops.cast
_reshape = ops.reshape
_zeros = ops.zeros
_scatter = ops.tensor_scatter_elements


def _pair(v):
    return _ntuple(v, 2)


def _stride(stride, kernel):
    """torch: stride None (or an empty list) means kernel_size."""
    if stride is None:
        return kernel
    if isinstance(stride, int):
        return _ntuple(stride, len(kernel))
    if len(stride) == 0:
        return kernel
    return _ntuple(stride, len(kernel))


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    k = _pair(kernel_size)
    s = _stride(stride, k)
    p, d = _pair(padding), _pair(dilation)
    _check_rank(input, "max_pool2d", (3, 4))
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
    _check_rank(input, "avg_pool2d", (3, 4))
    x = input if input.ndim == 4 else _expand_dims(input, 0)  # (N, C, H, W)
    out = _avg_pool2d(x, k, s, (p[0], p[0], p[1], p[1]), ceil_mode, count_include_pad,
                      0 if divisor_override is None else divisor_override)
    if input.ndim == 3:
        out = _squeeze(out, 0)
    return out


def adaptive_avg_pool2d(input, output_size):
    return _adaptive_avg_pool2d(input, _adaptive_size(output_size, input.shape, 2))


def _adaptive_size(output_size, shape, n):
    """int or n-tuple with None entries (= the input's size) -> n-tuple"""
    size = _ntuple(output_size, n)
    return tuple([shape[len(shape) - n + k] if size[k] is None else size[k] for k in range(n)])


# 1-D pooling: the 2-D fallbacks over a (N, C, 1, L) image
def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    k = _ntuple(kernel_size, 1)
    s = _stride(stride, k)
    out = avg_pool2d(_expand_dims(input, -2), (1, k[0]), (1, s[0]), (0, _ntuple(padding, 1)[0]), ceil_mode,
                     count_include_pad)
    return _squeeze(out, -2)


def adaptive_avg_pool1d(input, output_size):
    o = _ntuple(output_size, 1)[0]
    return _squeeze(_adaptive_avg_pool2d(_expand_dims(input, -2), (1, o)), -2)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    o = _ntuple(output_size, 1)[0]
    out, idx = _adaptive_max_pool2d(_expand_dims(input, -2), (1, o), True)  # flat H*W index = L index
    out, idx = _squeeze(out, -2), _squeeze(idx, -2)
    if return_indices:
        return out, _cast(idx, ms.int64)
    return out


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    k = _ntuple(kernel_size, 3)
    s = _stride(stride, k)
    _check_rank(input, "avg_pool3d", (4, 5))
    x = input if input.ndim == 5 else _expand_dims(input, 0)  # (N, C, D, H, W)
    p = _ntuple(padding, 3)
    out = _avg_pool3d(x, k, s, (p[0], p[0], p[1], p[1], p[2], p[2]), ceil_mode, count_include_pad,
                      0 if divisor_override is None else divisor_override)
    if input.ndim == 4:
        out = _squeeze(out, 0)
    return out


def adaptive_avg_pool3d(input, output_size):
    return _adaptive_avg_pool3d(input, _adaptive_size(output_size, input.shape, 3))


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Scatter each value to its flat per-plane index in a zero (.., H_out, W_out) output."""
    k = _pair(kernel_size)
    s = _stride(stride, k)
    p = _pair(padding)
    _check_rank(input, "max_unpool2d", (3, 4))
    h, w = input.shape[-2], input.shape[-1]
    if output_size is None:
        size = ((h - 1) * s[0] - 2 * p[0] + k[0], (w - 1) * s[1] - 2 * p[1] + k[1])
    else:
        size = (output_size[-2], output_size[-1])
    lead = tuple(input.shape[:-2])
    flat_in = _reshape(input, lead + (h * w,))  # (.., H*W)
    flat_idx = _reshape(_cast(indices, ms.int64), lead + (h * w,))
    out = _scatter(_zeros(lead + (size[0] * size[1],), input.dtype), flat_idx, flat_in, input.ndim - 2)
    return _reshape(out, lead + size)  # (.., H_out, W_out)
