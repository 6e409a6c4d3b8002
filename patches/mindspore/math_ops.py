"""Fallbacks for elementwise math, small linear-algebra and activation ops without a CPU kernel
(acos/asin/atan/atan2, exp2/log2/log10/frac, dot/mv/addmm/trace/diag/take, std_mean/var_mean,
hardtanh/relu6/logsigmoid/selu/threshold/soft_margin_loss, randint_like). Legacy `ops.*`
primitives that do have CPU kernels, or short compositions; torch semantics; graph-mode safe.
"""

from __future__ import annotations

import math

import mindspore as ms
from mindspore import mint, ops

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


# ---------------------------------------------------------------- mapped for the transformers scan
# (mint.asinh/acosh/logaddexp/bitwise_xor/or/not/addcdiv/cummin have no CPU kernel; measured.)


def asinh(input):
    return ops.asinh(input)


def acosh(input):
    return ops.acosh(input)


def logaddexp(input, other):
    m = ops.maximum(input, other)  # stable: m + log1p(exp(-|a - b|))
    return m + ops.log1p(_exp(-ops.abs(input - other)))


def _as_tensor(input, other):
    return other if isinstance(other, ms.Tensor) else ms.Tensor(other, input.dtype)


def bitwise_and(input, other):  # mint.bitwise_and(t, scalar): no BitwiseAndScalar CPU kernel
    return ops.bitwise_and(input, _as_tensor(input, other))


def bitwise_xor(input, other):
    return ops.bitwise_xor(input, _as_tensor(input, other))


def bitwise_or(input, other):
    return ops.bitwise_or(input, _as_tensor(input, other))


def div_wrapper(original):
    """wrapper(original) -> div: on CPU rounding_mode="floor" fails for integers (FloorDiv init) and
    "trunc" for floats ("Trunc should have 1 outputs"); measured."""
    from patches.mindspore.tensor_ops import floor_divide

    def div(input, other, *, rounding_mode=None):
        if rounding_mode == "floor":
            return floor_divide(input, other)
        if rounding_mode == "trunc":
            if input.dtype in (ms.float16, ms.float32, ms.float64) or isinstance(other, float):
                return _trunc(input / other)
            return ops.truncate_div(input, _as_tensor(input, other))
        return original(input, other, rounding_mode=rounding_mode)

    return div


def where_wrapper(original):
    """wrapper(original) -> where: torch takes a uint8 (or other non-bool) condition, nonzero meaning True
    (pytorch-crf's masks); MindSpore's CPU Select takes bool only. `where(condition)` alone is
    torch.nonzero(condition, as_tuple=True), whose NonZeroExt kernel CPU lacks: split mint.nonzero's
    (n, ndim) result instead (transformers' MoE expert loops)."""

    def where(condition, *args, **kwargs):
        if isinstance(condition, ms.Tensor) and condition.dtype != ms.bool_:
            condition = condition != 0
        if not args and not kwargs:
            idx = mint.nonzero(condition)
            return tuple(idx[:, k] for k in range(max(condition.ndim, 1)))
        return original(condition, *args, **kwargs)

    return where


def bitwise_not(input):
    return ops.logical_not(input) if input.dtype == ms.bool_ else ops.invert(input)


def addcdiv(input, tensor1, tensor2, *, value=1):
    return input + value * (tensor1 / tensor2)


def _cum_extreme(op, input, dim):
    # The values are gathered at the indices so that the backward pass is GatherD's (the
    # cummax/cummin backward needs InplaceScatterAdd, which has no CPU kernel; measured).
    indices = _cast(ops.stop_gradient(op(input, dim)[1]), ms.int64)
    return ops.gather_elements(input, dim, indices), indices


def cummax(input, dim):
    return _cum_extreme(ops.cummax, input, dim)


def cummin(input, dim):
    return _cum_extreme(ops.cummin, input, dim)


def linalg_vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """mint.linalg.vector_norm (no CPU kernel: LinalgVectorNorm)."""
    if dtype is not None:
        x = x.astype(dtype)
    a = ops.abs(x)
    if dim is None:
        a, dim = a.reshape((-1,)), 0
        if keepdim:
            raise NotImplementedError("vector_norm(dim=None, keepdim=True)")
    if ord == math.inf:
        return ops.amax(a, dim, keepdim)
    if ord == -math.inf:
        return ops.amin(a, dim, keepdim)
    if ord == 0:
        return ops.sum((a != 0).astype(a.dtype), dim, keepdim)
    if ord == 1:
        return ops.sum(a, dim, keepdim)
    if ord == 2:
        return ops.sqrt(ops.sum(a * a, dim, keepdim))
    return ops.pow(ops.sum(ops.pow(a, ord), dim, keepdim), 1.0 / ord)


def linalg_norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """mint.linalg.norm (no CPU kernel) for the vector cases and the Frobenius norm (ord=None); matrix norms
    with a numeric or "nuc" ord raise."""
    if ord is None or ord == "fro":
        if ord == "fro" and dim is None and A.ndim != 2:
            raise NotImplementedError("linalg.norm(ord='fro') needs a matrix or dim=")
        return linalg_vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if isinstance(dim, int) or (dim is None and A.ndim == 1):
        return linalg_vector_norm(A, ord, dim, keepdim, dtype=dtype)
    raise NotImplementedError(f"linalg.norm(ord={ord!r}) of a matrix")
