"""interpolate for the modes without a CPU kernel in MindSpore 2.10: mint.nn.functional.interpolate's
"linear" (UpsampleLinear1D), "bilinear" (UpsampleBilinear2D) and "bicubic" (UpsampleBicubic2D).
Registered as a wrapper: "nearest" and "trilinear" (which have CPU kernels) go to the original.

Each resized dim is a matmul with an (out, in) interpolation matrix built from torch's own index
rules (aten/src/ATen/native/UpSample.h): source index scale*(dst+0.5)-0.5 clamped at 0 (linear) or
scale*dst with align_corners; scale (in-1)/(out-1) with align_corners, else 1/scale_factor when a
scale_factor is given and not recomputed, else in/out; bicubic's A=-0.75 coefficients on 4 taps
clamped to the border. Output sizes floor(in * scale_factor) as torch. Graph-mode safe; matches
torch to float rounding, gradients included (tests/patches/test_ms_fallback_conv.py).
"""

from __future__ import annotations

import math

import mindspore as ms
from mindspore import ops

_matmul = ops.matmul
_floor = ops.floor
_cast = ops.cast
_minimum = ops.minimum
_maximum = ops.maximum
_expand_dims = ops.expand_dims
_swapaxes = ops.swapaxes
_RANK = {"linear": 3, "bilinear": 4, "bicubic": 4}
_A = -0.75  # torch's bicubic constant


def _range(n):
    return ms.Tensor(tuple(range(n)), ms.float32)


def _scale(n_in, n_out, align_corners, scale):
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    if scale is not None and scale > 0:
        return 1.0 / scale
    return n_in / n_out


def _onehot(idx, n_in):
    """(out,) float indices -> (out, n_in) with 1.0 where the column equals the index"""
    return _cast(_expand_dims(idx, 1) == _expand_dims(_range(n_in), 0), ms.float32)


def _linear_matrix(n_in, n_out, align_corners, scale):
    s = _scale(n_in, n_out, align_corners, scale)
    dst = _range(n_out)
    src = dst * s if align_corners else _maximum((dst + 0.5) * s - 0.5, ops.zeros_like(dst))
    i0 = _floor(src)
    lam1 = src - i0
    i1 = _minimum(i0 + 1, ops.full_like(i0, n_in - 1))
    return _onehot(i0, n_in) * _expand_dims(1 - lam1, 1) + _onehot(i1, n_in) * _expand_dims(lam1, 1)


def _cubic1(x):
    return ((_A + 2) * x - (_A + 3)) * x * x + 1


def _cubic2(x):
    return ((_A * x - 5 * _A) * x + 8 * _A) * x - 4 * _A


def _cubic_matrix(n_in, n_out, align_corners, scale):
    s = _scale(n_in, n_out, align_corners, scale)
    dst = _range(n_out)
    src = dst * s if align_corners else (dst + 0.5) * s - 0.5  # not clamped for cubic
    i0 = _floor(src)
    t = src - i0
    coeffs = (_cubic2(t + 1), _cubic1(t), _cubic1(1 - t), _cubic2(2 - t))
    lo, hi = ops.zeros_like(i0), ops.full_like(i0, n_in - 1)
    m = None
    for k in range(4):
        idx = _minimum(_maximum(i0 + (k - 1), lo), hi)  # taps outside clamp to the border
        term = _onehot(idx, n_in) * _expand_dims(coeffs[k], 1)
        m = term if m is None else m + term
    return m


def _ntuple(v, n):
    if isinstance(v, (tuple, list)):
        return tuple(v)
    return (v,) * n


def _resize(input, size, scale_factor, mode, align_corners, recompute_scale_factor):
    if input.ndim != _RANK[mode]:
        raise ValueError(f"interpolate: mode {mode!r} expects a {_RANK[mode]}-D input, got {input.ndim}-D")
    n = input.ndim - 2
    ins = tuple(input.shape[2:])
    if size is not None:
        if scale_factor is not None:
            raise ValueError("interpolate: only one of size or scale_factor should be defined")
        outs, scales = _ntuple(size, n), (None,) * n
    elif scale_factor is not None:
        sf = _ntuple(scale_factor, n)
        outs = tuple(int(math.floor(float(ins[k]) * sf[k])) for k in range(n))
        scales = (None,) * n if recompute_scale_factor else sf
    else:
        raise ValueError("interpolate: either size or scale_factor should be defined")
    ac = bool(align_corners)
    out = input
    for k in range(n):  # resize dim 2 + k: (.., in, rest) -> (.., out, rest) via its matrix
        if mode == "bicubic":
            m = _cubic_matrix(ins[k], outs[k], ac, scales[k])
        else:
            m = _linear_matrix(ins[k], outs[k], ac, scales[k])
        if k == n - 1:
            out = _matmul(out, _swapaxes(m, 0, 1))  # (..., W_in) @ (W_in, W_out)
        else:
            out = _matmul(m, out)  # (H_out, H_in) @ (N, C, H_in, W)
    return out


def interpolate_wrapper(original):
    """wrapper(original) -> interpolate: linear/bilinear/bicubic here, other modes to the original."""

    def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                    recompute_scale_factor=None):
        if mode in ("linear", "bilinear", "bicubic"):
            return _resize(input, size, scale_factor, mode, align_corners, recompute_scale_factor)
        if isinstance(scale_factor, int):  # nearest: MindSpore wants float scales (torch takes ints)
            scale_factor = float(scale_factor)
        elif isinstance(scale_factor, (tuple, list)):
            scale_factor = tuple(float(f) for f in scale_factor)
        return original(input, size, scale_factor, mode, align_corners, recompute_scale_factor)

    return interpolate
