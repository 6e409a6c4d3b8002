"""Fallbacks for mint.nn.functional.dropout2d and cosine_embedding_loss ("Not implement exception"
on CPU in MindSpore 2.10) and the 3-D reflect padding that CPU PadV3 rejects (it takes at most 4-D
input in reflect mode, so ReflectionPad3d and pad(x, 6 values, "reflect") fail), with torch
semantics. Built from ops with CPU kernels; graph-mode safe.

- dropout2d: torch's feature dropout: one Bernoulli(1-p) draw per (N, C) plane (the first two dims,
  whatever the rank, as torch, which treats 3-D input as (N, C, L)), scaled by 1/(1-p); identity for
  p=0 or training=False, zeros for p=1. The mask is ops.dropout over a (N, C, 1, ..) ones tensor.
- cosine_embedding_loss: aten's formula: cos = sum(x1*x2) / sqrt((|x1|^2+1e-12)(|x2|^2+1e-12)),
  1-cos where target == 1, max(0, cos-margin) where target == -1, 0 elsewhere; reductions;
  1-D inputs with a 0-d target.
- reflect_pad: reflect padding along any number of trailing dims by slice + flip + concat.
"""

from __future__ import annotations

from mindspore import ops

_dropout = ops.dropout
_ones = ops.ones
_sqrt = ops.sqrt
_sum = ops.sum
_mean = ops.mean
_where = ops.where
_maximum = ops.maximum
_narrow = ops.narrow
_flip = ops.flip
_concat = ops.concat
_EPS = 1e-12


def dropout2d(input, p=0.5, training=True, inplace=False):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout2d: probability has to be between 0 and 1, got {p}")
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)  # (N, C, 1, ..)
    mask = _dropout(_ones(shape, input.dtype), p, True)  # 0 or 1/(1-p) per plane
    return input * mask


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction="mean"):
    dim = target.ndim  # 1 for (N, D) inputs, 0 for (D,) inputs
    prod = _sum(input1 * input2, dim)
    mag1 = _sum(input1 * input1, dim) + _EPS
    mag2 = _sum(input2 * input2, dim) + _EPS
    cos = prod / _sqrt(mag1 * mag2)
    zeros = cos * 0
    pos = _where(target == 1, 1 - cos, zeros)
    neg = _where(target == -1, _maximum(cos - margin, zeros), zeros)
    loss = pos + neg
    if reduction == "mean":
        return _mean(loss)
    if reduction == "sum":
        return _sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"cosine_embedding_loss: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def reflect_pad(input, pad):
    """torch pad(..., mode="reflect"): pad = (last_lo, last_hi, prev_lo, prev_hi, ...)."""
    out = input
    for k in range(len(pad) // 2):
        dim = input.ndim - 1 - k
        lo, hi = pad[2 * k], pad[2 * k + 1]
        n = out.shape[dim]
        if lo >= n or hi >= n:
            raise ValueError(f"pad: reflect padding ({lo}, {hi}) must be smaller than the dim size {n} (dim {dim})")
        parts = []
        if lo > 0:
            parts.append(_flip(_narrow(out, dim, 1, lo), (dim,)))
        parts.append(out)
        if hi > 0:
            parts.append(_flip(_narrow(out, dim, n - 1 - hi, hi), (dim,)))
        if len(parts) > 1:
            out = _concat(parts, dim)
    return out
