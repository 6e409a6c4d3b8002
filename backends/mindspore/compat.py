"""torch semantics MindSpore lacks, written in mint ops (graph-mode safe). Converted code calls these.

    from backends.mindspore import compat
    y = compat.scaled_dot_product_attention(q, k, v, is_causal=True)   # (B, H, T, hd)

Free of torch and of codemods: converted models import it at run time. On CPU the mint ops used
here are filled in by patches.mindspore where MindSpore has no kernel.
"""

from __future__ import annotations

import math

import numpy as np

import mindspore
from mindspore import mint, nn, ops
from mindspore.common.initializer import Initializer

_EPS = {mindspore.float32: 1.1920928955078125e-07, mindspore.float16: 0.0009765625,
        mindspore.bfloat16: 0.0078125, mindspore.float64: 2.220446049250313e-16}


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """torch.nn.functional.scaled_dot_product_attention. query (..., L, E), key/value (..., S, E)."""
    L, S = query.shape[-2], key.shape[-2]
    if enable_gqa and key.shape[-3] != query.shape[-3]:
        repeat = query.shape[-3] // key.shape[-3]
        key = mint.repeat_interleave(key, repeat, dim=-3)
        value = mint.repeat_interleave(value, repeat, dim=-3)
    scale_factor = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = mint.matmul(query, mint.transpose(key, -2, -1)) * scale_factor  # (..., L, S)
    if is_causal:  # torch's math path: an additive -inf bias; a constant, so no gradient work for it
        bias = mint.triu(mint.full((L, S), float("-inf"), dtype=scores.dtype), diagonal=1)
        scores = scores + ops.stop_gradient(bias)
    if attn_mask is not None:
        if attn_mask.dtype == mindspore.bool_:
            scores = scores.masked_fill(mint.logical_not(attn_mask), float("-inf"))
        else:
            scores = scores + attn_mask
    weights = mint.softmax(scores, dim=-1)
    if dropout_p > 0.0:  # torch applies dropout_p whenever it is given, training or not
        weights = mint.nn.functional.dropout(weights, p=dropout_p, training=True)
    return mint.matmul(weights, value)  # (..., L, Ev)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """torch.nn.functional.rms_norm over the trailing len(normalized_shape) dims."""
    if eps is None:
        eps = _EPS.get(input.dtype, 1.1920928955078125e-07)
    ndim = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    dims = tuple(range(-ndim, 0))
    out = input * mint.rsqrt((input * input).mean(dims, keepdim=True) + eps)  # x * x: what torch computes
    return out * weight if weight is not None else out


class RMSNorm(nn.Cell):
    """torch.nn.RMSNorm: parameter `weight`, like torch's state_dict."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.eps = eps
        self.weight = mindspore.Parameter(mint.ones(self.normalized_shape)) if elementwise_affine else None

    def construct(self, x):
        return rms_norm(x, self.normalized_shape, self.weight, self.eps)


class UniformRange(Initializer):
    """torch.nn.init.uniform_(t, a, b): U(a, b). MindSpore's Uniform(scale) is only U(-scale, scale)."""

    def __init__(self, a=0.0, b=1.0):
        super().__init__(a=a, b=b)
        self.a, self.b = a, b

    def _initialize(self, arr):
        arr[...] = np.random.uniform(self.a, self.b, arr.shape).astype(arr.dtype)


def finfo(dtype):
    """torch.finfo for a MindSpore dtype (numpy's finfo has the same fields: eps, max, min, tiny)."""
    if dtype == mindspore.bfloat16:
        import ml_dtypes  # shipped with MindSpore

        return ml_dtypes.finfo(ml_dtypes.bfloat16)
    return np.finfo(mindspore.dtype_to_nptype(dtype))


def iinfo(dtype):
    return np.iinfo(mindspore.dtype_to_nptype(dtype))


class ModuleDict(nn.Cell):
    """torch.nn.ModuleDict. mindspore.nn.CellDict refuses CellList/SequentialCell/CellDict values
    (nanoGPT keeps `h=nn.ModuleList(...)` in one), so this plain Cell registers each value as a
    child: parameter names stay `<key>.<param>`, and `d.key` / `d["key"]` work in graph mode."""

    def __init__(self, modules=None):
        super().__init__()
        self._keys = []
        for key, cell in (modules or {}).items():
            self[key] = cell

    def __setitem__(self, key, cell):
        if key not in self._keys:
            self._keys.append(key)
        self.insert_child_to_cell(key, cell)

    def __getitem__(self, key):
        return self._cells[key]

    def __contains__(self, key):
        return key in self._keys

    def __len__(self):
        return len(self._keys)

    def __iter__(self):
        return iter(self._keys)

    def keys(self):
        return list(self._keys)

    def values(self):
        return [self._cells[k] for k in self._keys]

    def items(self):
        return [(k, self._cells[k]) for k in self._keys]


# torch APIs the mapping tables send here (torch.isin, torch.nn.Buffer, torch.get_default_dtype, ...), tested
# case by case in tests/codemods/test_api_outputs.py.
from backends.mindspore.compat_api import *  # noqa: E402,F401,F403
from backends.mindspore.compat_math import *  # noqa: E402,F401,F403
from backends.mindspore.compat_methods import *  # noqa: E402,F401,F403
