"""Fallbacks for elementwise math, small linear-algebra and activation ops without a CPU kernel
(acos/asin/atan/atan2, exp2/log2/log10/frac, dot/mv/addmm/trace/diag/take, std_mean/var_mean,
hardtanh/relu6/logsigmoid/selu/threshold/soft_margin_loss, randint_like). Legacy `ops.*`
primitives that do have CPU kernels, or short compositions; torch semantics; graph-mode safe.
"""

from __future__ import annotations

import math

import mindspore as ms
from mindspore import ops

from patches.mindspore.tensor_ops import std as _std
from patches.mindspore.tensor_ops import var as _var

_acos, _asin, _atan, _atan2 = ops.acos, ops.asin, ops.atan, ops.atan2
_log, _exp, _trunc, _clamp = ops.log, ops.exp, ops.trunc, ops.clamp
_matmul, _reshape, _gather, _diagonal, _diag = ops.matmul, ops.reshape, ops.gather, ops.diagonal, ops.diag
_softplus, _where, _mean, _randint, _cast = ops.softplus, ops.where, ops.mean, ops.randint, ops.cast
_reduce_sum = ops.sum


def acos(input):
    return _acos(input)


def asin(input):
    return _asin(input)


def atan(input):
    return _atan(input)


def atan2(input, other):
    return _atan2(input, other)


def exp2(input):
    return _exp(input * math.log(2.0))


def log2(input):
    return _log(input) / math.log(2.0)


def log10(input):
    return _log(input) / math.log(10.0)


def frac(input):
    return input - _trunc(input)


def dot(input, other):
    return _reduce_sum(input * other)


def mv(input, vec):
    return _reshape(_matmul(input, _reshape(vec, (-1, 1))), (-1,))


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    prod = _matmul(mat1, mat2)
    return alpha * prod if beta == 0 else beta * input + alpha * prod


def t(input):
    """Measured: mint.t runs in PyNative but has no CPU kernel (TExt) in graph mode."""
    return input if input.ndim < 2 else ops.transpose(input, (1, 0))


def trace(input):
    return _reduce_sum(_diagonal(input))


def diag(input, diagonal=0):
    if input.ndim == 1:
        return _diag(input) if diagonal == 0 else ops.diag_embed(input, diagonal)
    return _diagonal(input, diagonal)


def take(input, index):
    return _reshape(_gather(_reshape(input, (-1,)), _reshape(index, (-1,)), 0), index.shape)


def std_mean(input, dim=None, *, correction=1, keepdim=False):
    return _std(input, dim, correction=correction, keepdim=keepdim), _mean_dims(input, dim, keepdim)


def var_mean(input, dim=None, *, correction=1, keepdim=False):
    return _var(input, dim, correction=correction, keepdim=keepdim), _mean_dims(input, dim, keepdim)


def _mean_dims(input, dim, keepdim):
    if dim is None:
        dim = tuple(range(input.ndim))
    return _mean(input, dim, keepdim)


def randint_like(input, low=0, high=None, *, dtype=None):
    if high is None:
        low, high = 0, low
    out = _randint(low, high, input.shape, dtype=ms.int64)
    return _cast(out, input.dtype if dtype is None else dtype)


# ---------------------------------------------------------------- activations / losses


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    return _clamp(input, min_val, max_val)


def relu6(input, inplace=False):
    return _clamp(input, 0.0, 6.0)


def logsigmoid(input):
    return -_softplus(-input)


def selu(input, inplace=False):
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    neg = alpha * (_exp(_clamp(input, None, 0.0)) - 1)
    return scale * _where(input > 0, input, neg)


def threshold(input, threshold, value, inplace=False):
    return _where(input > threshold, input, ops.full_like(input, value))


def soft_margin_loss(input, target, reduction="mean"):
    loss = _softplus(-input * target)  # log(1 + exp(-y x))
    if reduction == "mean":
        return _mean(loss)
    return _reduce_sum(loss) if reduction == "sum" else loss
