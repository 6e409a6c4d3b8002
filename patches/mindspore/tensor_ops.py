"""Fallbacks for mint shape, indexing, math, reduction and sorting ops without a CPU kernel.

torch semantics kept: int64 indices from argmax/argmin/argsort/sort/topk, keepdim, negative dims,
cumsum's dtype= (cast before summing), split's int or list sizes, repeat_interleave with dim=None (flattens), std/var's
correction, tril's diagonal. Built from ops with CPU kernels; graph-mode safe.
"""

from __future__ import annotations

import mindspore as ms
from mindspore import ops

_cast = ops.cast
_stack = ops.stack
_tril = ops.tril
_cumsum = ops.cumsum
_gather = ops.gather
_concat = ops.concat
_matmul = ops.matmul
_argmax = ops.argmax
_argmin = ops.argmin
_sort = ops.sort
_topk = ops.topk
_logsumexp = ops.logsumexp
_repeat_interleave = ops.repeat_interleave
_reshape = ops.reshape
_narrow = ops.narrow
_slice = ops.slice
_squeeze = ops.squeeze
_sqrt = ops.sqrt
_abs = ops.abs
_pow = ops.pow
_reduce_sum = ops.sum
_amax = ops.amax
_floor = ops.floor
_tensor_scatter_elements = ops.tensor_scatter_elements


def _dims(dim, ndim):
    """dim (None, int or tuple) -> a tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, int):
        dim = (dim,)
    return tuple(d % ndim if ndim else 0 for d in dim)


def stack(tensors, dim=0):
    return _stack(tensors, dim)


def tril(input, diagonal=0):
    return _tril(input, diagonal)


def cumsum(input, dim, dtype=None):
    if dtype is not None:
        input = _cast(input, dtype)
    elif input.dtype in (ms.bool_, ms.int8, ms.int16, ms.int32, ms.uint8):
        input = _cast(input, ms.int64)  # torch promotes integral inputs to int64
    return _cumsum(input, dim)


def index_select(input, dim, index):
    return _gather(input, index, dim)


def repeat_interleave(input, repeats, dim=None, *, output_size=None):
    if dim is None:
        input = _reshape(input, (-1,))
        dim = 0
    return _repeat_interleave(input, repeats, dim)


def _roll_dim(x, shift, dim):
    n = x.shape[dim]
    s = shift % n
    if s == 0:
        return x
    return _concat((_narrow(x, dim, n - s, s), _narrow(x, dim, 0, n - s)), dim)


def roll(input, shifts, dims=None):
    if dims is None:
        flat = _roll_dim(_reshape(input, (-1,)), shifts if isinstance(shifts, int) else shifts[0], 0)
        return _reshape(flat, input.shape)
    if isinstance(shifts, int):
        return _roll_dim(input, shifts, dims if isinstance(dims, int) else dims[0])
    out = input
    for k in range(len(shifts)):
        out = _roll_dim(out, shifts[k], dims[k])
    return out


def outer(input, vec2):
    return _reshape(input, (-1, 1)) * _reshape(vec2, (1, -1))


def split(tensor, split_size_or_sections, dim=0):
    """torch.split with copies (slices) instead of mint's split views, whose PyNative backward on
    CPU is wrong when the views feed attention (measured max |d grad| 2.2)."""
    dim = dim + tensor.ndim if dim < 0 else dim
    n = tensor.shape[dim]
    if isinstance(split_size_or_sections, int):
        if split_size_or_sections <= 0:
            raise ValueError(f"split: split_size must be positive, got {split_size_or_sections}")
        sizes = [min(split_size_or_sections, n - s) for s in range(0, n, split_size_or_sections)]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} do not sum to {n}, the size of dim {dim}")
    out = []
    start = 0
    for size in sizes:  # ops.slice, not narrow: torch allows zero-size pieces
        begin = [0] * tensor.ndim
        begin[dim] = start
        shape = list(tensor.shape)
        shape[dim] = size
        out.append(_slice(tensor, tuple(begin), tuple(shape)))
        start = start + size
    return tuple(out)


def unbind(input, dim=0):
    n = input.shape[dim]
    return tuple([_squeeze(_narrow(input, dim, k, 1), dim) for k in range(n)])


def mm(input, mat2):
    return _matmul(input, mat2)


def addcmul(input, tensor1, tensor2, *, value=1):
    return input + value * tensor1 * tensor2


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    prod = _matmul(batch1, batch2)
    if beta == 0:
        return alpha * prod  # torch ignores input (even NaN) when beta is 0
    return beta * input + alpha * prod


def floor_divide(input, other):
    if input.dtype in (ms.float16, ms.float32, ms.float64):
        return _floor(input / other)
    return ops.floor_div(input, other)


def count_nonzero(input, dim=None):
    return _reduce_sum(_cast(input != 0, ms.int64), _dims(dim, input.ndim))


def equal(input, other):
    if input.shape != other.shape:
        return False
    return bool((input == other).all())


def scatter_add(input, dim, index, src):
    return _tensor_scatter_elements(input, index, src, dim, "add")


# ---------------------------------------------------------------- arg/sort family


def argmax(input, dim=None, keepdim=False):
    if dim is None:
        out = _argmax(_reshape(input, (-1,)), 0, False)
        return _reshape(out, (1,) * input.ndim) if keepdim else out
    return _cast(_argmax(input, dim, keepdim), ms.int64)


def argmin(input, dim=None, keepdim=False):
    if dim is None:
        out = _cast(_argmin(_reshape(input, (-1,)), 0, False), ms.int64)
        return _reshape(out, (1,) * input.ndim) if keepdim else out
    return _cast(_argmin(input, dim, keepdim), ms.int64)


def sort(input, *, dim=-1, descending=False, stable=False):
    values, indices = _sort(input, dim, descending)
    return values, _cast(indices, ms.int64)


def argsort(input, dim=-1, descending=False, stable=False):
    return sort(input, dim=dim, descending=descending, stable=stable)[1]


def topk(input, k, dim=-1, largest=True, sorted=True):
    values, indices = _topk(input, k, dim, largest, sorted)
    return values, _cast(indices, ms.int64)


# ---------------------------------------------------------------- reductions


def logsumexp(input, dim, keepdim=False):
    return _logsumexp(input, _dims(dim, input.ndim), keepdim)


def var(input, dim=None, *, correction=1, keepdim=False):
    axes = _dims(dim, input.ndim)
    n = 1
    for a in axes:
        n = n * input.shape[a]
    mean = _reduce_sum(input, axes, keepdim=True) / n
    sq = _reduce_sum((input - mean) * (input - mean), axes, keepdim=keepdim)
    return sq / max(n - correction, 0)


def std(input, dim=None, *, correction=1, keepdim=False):
    return _sqrt(var(input, dim, correction=correction, keepdim=keepdim))


def norm(input, p="fro", dim=None, keepdim=False, *, dtype=None):
    if dtype is not None:
        input = _cast(input, dtype)
    axes = _dims(dim, input.ndim)
    if p == "fro" or p == 2:
        return _sqrt(_reduce_sum(input * input, axes, keepdim=keepdim))
    if p == 1:
        return _reduce_sum(_abs(input), axes, keepdim=keepdim)
    if p == float("inf"):
        return _amax(_abs(input), axes, keepdim)
    return _pow(_reduce_sum(_pow(_abs(input), p), axes, keepdim=keepdim), 1.0 / p)
