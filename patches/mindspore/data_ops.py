"""Fallbacks for mint.median, index_add, histc, bincount and unique, which have no CPU kernel in
MindSpore 2.10 (MedianDim/MedianExt, IndexAddExt, HistcExt, BincountExt, Unique2), with torch
semantics, built from the legacy CPU kernels ops.median, ops.tensor_scatter_elements, ops.histc,
ops.bincount, ops.unique and ops.sort:

- median: the lower median and its int64 index (the same element torch picks on ties); dim=None
  returns the 0-d median whose gradient is spread evenly over the elements equal to it, as torch.
- index_add: input + alpha * source scattered along dim (duplicate indices accumulate), any
  integer index dtype; the input is not modified.
- histc: float bins over [min, max] (the data's range when min == max), as torch.
- bincount, unique: PyNative only -- their output shape depends on the data, which MindSpore's
  graph mode cannot express. bincount returns int64 counts (float32 for float32 weights, float64
  for other weights, as torch); unique always sorts (torch 2.13 on CPU does too, even with
  sorted=False) and returns int64 inverse / counts; unique(dim=d) orders slices lexicographically.
"""

from __future__ import annotations

import mindspore as ms
from mindspore import ops

from patches.mindspore.args import INTEGRAL as _INT

_median = ops.median
_cast = ops.cast
_reshape = ops.reshape
_stop_gradient = ops.stop_gradient
_sum = ops.sum
_scatter = ops.tensor_scatter_elements
_broadcast_to = ops.broadcast_to
_histc = ops.histc
_bincount = ops.bincount
_segment_sum = ops.unsorted_segment_sum
_unique = ops.unique
_sort = ops.sort
_gather = ops.gather
_moveaxis = ops.moveaxis


def median(input, dim=None, keepdim=False):
    if dim is None:
        flat = _reshape(input, (-1,))
        value = _stop_gradient(_median(flat, 0)[0])  # 0-d
        if input.dtype in _INT:
            return value
        ties = _cast(flat == value, input.dtype)
        # forward: exactly the median; backward: grad / count over the tied elements (torch)
        return value + _sum(ties * (flat - _stop_gradient(flat))) / _sum(ties)
    values, indices = _median(input, dim, keepdim)
    return values, _cast(indices, ms.int64)


def index_add(input, dim, index, source, *, alpha=1):
    d = dim % input.ndim if input.ndim > 0 else 0
    shape = [1] * source.ndim
    shape[d] = -1
    idx = _broadcast_to(_reshape(_cast(index, ms.int64), tuple(shape)), tuple(source.shape))
    src = source if alpha == 1 else source * alpha
    return _scatter(input, idx, src, d, "add")


def histc(input, bins=100, min=0, max=0):
    # counts are piecewise constant (torch gives them no gradient); MindSpore's Histogram has no bprop, so
    # a histc inside a differentiated loss (transformers' MoE load balancing) must not reach it
    return _histc(ops.stop_gradient(input), bins, float(min), float(max))


def _check_pynative(name):
    if ms.get_context("mode") == ms.GRAPH_MODE:
        raise RuntimeError(f"{name}: the output shape depends on the data; the CPU fallback runs in PyNative only")


def bincount(input, weights=None, minlength=0):
    _check_pynative("bincount")
    if input.ndim != 1 or input.dtype not in _INT:
        raise ValueError(f"bincount: expected a 1-D integer tensor, got {input.ndim}-D {input.dtype}")
    if input.shape[0] > 0 and int(input.min()) < 0:
        raise ValueError("bincount: input must be non-negative")
    if input.shape[0] == 0:  # ops.bincount ignores minlength here
        return ops.zeros((minlength,), ms.int64 if weights is None else
                         (ms.float32 if weights.dtype == ms.float32 else ms.float64))
    idx = _cast(input, ms.int32)
    if weights is None:
        return _cast(_bincount(idx, None, minlength), ms.int64)  # float32 counts, exact below 2**24
    if weights.dtype == ms.float32:
        return _bincount(idx, weights, minlength)
    n = max(int(input.max()) + 1, minlength)  # ops.bincount sums in float32: float64 by segments
    return _segment_sum(_cast(weights, ms.float64), idx, n)


def _dense_rank(v):
    """1-D -> (sorted unique values, int64 rank of each element among them)"""
    u, inv = _unique(v)  # first-occurrence order
    su, perm = _sort(u)
    _, rank_of = _sort(_cast(perm, ms.int32))  # the inverse permutation
    return su, _gather(_cast(rank_of, ms.int64), _cast(inv, ms.int64), 0)


def _counts(inverse, n):
    return _cast(_bincount(_cast(inverse, ms.int32), None, n), ms.int64)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    _check_pynative("unique")
    src = _cast(input, ms.int32) if input.dtype == ms.bool_ else input
    if dim is None:
        values, inverse = _dense_rank(_reshape(src, (-1,)))
        out = _cast(values, input.dtype) if input.dtype == ms.bool_ else values
        inverse = _reshape(inverse, tuple(input.shape))
    else:
        d = dim % input.ndim
        x = _moveaxis(src, d, 0)
        rows = _reshape(x, (x.shape[0], -1))  # (n, m): unique rows, lexicographic order
        key = None
        for j in range(rows.shape[1]):  # key = dense rank of (key, column j): stays < n
            vals, r = _dense_rank(rows[:, j])
            key = r if key is None else _dense_rank(key * vals.shape[0] + r)[1]
        if key is None:
            key = ops.zeros((rows.shape[0],), ms.int64)
        _, inverse = _dense_rank(key)
        n_groups = int(inverse.max()) + 1 if rows.shape[0] > 0 else 0
        first = _scatter(ops.zeros((n_groups,), ms.int64), inverse, ops.arange(0, rows.shape[0], dtype=ms.int64),
                         0)  # any member row per group (they are equal)
        out = _moveaxis(_gather(x, first, 0), 0, d)
        out = _cast(out, input.dtype) if input.dtype == ms.bool_ else out
    if not (return_inverse or return_counts):
        return out
    res = (out,)
    if return_inverse:
        res += (inverse,)
    if return_counts:
        res += (_counts(_reshape(inverse, (-1,)), out.shape[0] if dim is None else out.shape[d]),)
    return res
