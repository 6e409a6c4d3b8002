"""Fallbacks for Tensor methods without a CPU kernel. PyNative only (measured: in graph mode the
compiler resolves `x.clone()` internally and ignores a patched class attribute), which is why the
converter emits function forms (`mint.clone(x)`) for code that may be compiled.

In-place methods write with `copy_`, which has a CPU kernel, and return self as torch does.
"""

from __future__ import annotations

import mindspore as ms
from mindspore import ops

_deepcopy = ops.deepcopy
_fill = ops.fill
_masked_fill = ops.masked_fill
_standard_normal = ops.standard_normal
_uniform = ops.uniform
_tile = ops.tile
_stop_gradient = ops.stop_gradient


def clone(self):
    return _deepcopy(self)


def detach(self):
    return _stop_gradient(self)


def zero_(self):
    self.copy_(ops.zeros_like(self))
    return self


def fill_(self, value):
    self.copy_(_fill(self.dtype, self.shape, value))
    return self


def masked_fill_(self, mask, value):
    self.copy_(_masked_fill(self, mask, value))
    return self


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    self.copy_(ops.cast(_standard_normal(self.shape) * std + mean, self.dtype))
    return self


def uniform_(self, from_=0.0, to=1.0, *, generator=None):
    u = _uniform(self.shape, ms.Tensor(0.0, ms.float32), ms.Tensor(1.0, ms.float32))
    self.copy_(ops.cast(u * (to - from_) + from_, self.dtype))
    return self


def repeat(self, *sizes):
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    return _tile(self, tuple(sizes))


def roll(self, shifts, dims=None):
    from patches.mindspore.tensor_ops import roll as _roll

    return _roll(self, shifts, dims)


def new_full(self, size, fill_value, *, dtype=None):
    return _fill(self.dtype if dtype is None else dtype, tuple(size), fill_value)


# ---- x[..., a:b:s, ...] with s > 1 on an interior axis -------------------------------------------
# MindSpore 2.10 CPU's StridedSliceGrad fails for a step > 1 on any axis but the first and the last
# of a tensor with 3 or more dims ("For 'StridedSliceGrad', 5 input memory out of bounds"; measured
# for 3-D to 5-D, steps on one or two axes, odd and even sizes); the forward is right. Swin's patch
# merging does x[:, 0::2, 0::2, :]. Such an index is taken as the same index with step 1 (a span
# from the first to the last element picked, whose gradient works) followed by one gather of every
# s-th element per stepped axis. Any other index goes to MindSpore's own __getitem__ untouched.

_gather = ops.gather
_STEP_INDEX: dict = {}  # (n, s) -> int64 Tensor [0, s, ..., (n - 1) * s]


def getitem_wrapper(original):
    """wrapper(Tensor.__getitem__) -> __getitem__ that reroutes interior stepped slices and multi-dim
    boolean masks inside a tuple index (see _mask_items)."""

    def __getitem__(self, index):
        if type(index) is tuple:
            if _interior_step(index, self):
                return _stepped_getitem(original, self, index)
            if _multi_dim_mask(index):
                return original(self, _mask_items(index))
        return original(self, index)

    return __getitem__


# ---- x[mask, :] with a boolean mask of 2 or more dims in a tuple index ----------------------------
# MindSpore 2.10 (CPU) reads such an index wrongly: for x (B, T, D) and mask (B, T), x[mask, :] takes
# the mask's (b, t) coordinates as indices into axes 0 and 2, not 0 and 1 (measured: shape (n, T)
# instead of (n, D), values of the wrong axis; an out-of-range GatherNd error only when t >= D). x[mask]
# alone, x[:, mask] and x[mask, :] = v are right. torch defines a k-dim mask as its k nonzero() index
# tensors in its place, so the index is rewritten to exactly that (Qwen3-VL's deepstack does
# hidden_states[visual_pos_masks, :]). Other tuple indices are left to MindSpore.

_nonzero = ops.nonzero
_bool = ms.bool_


def _multi_dim_mask(index) -> bool:
    for item in index:
        if isinstance(item, ms.Tensor) and item.dtype == _bool and item.ndim > 1:
            return True
    return False


def _mask_items(index) -> tuple:
    out = []
    for item in index:
        if isinstance(item, ms.Tensor) and item.dtype == _bool and item.ndim > 1:
            coords = _nonzero(item)  # (n, k) int64 (as_tuple=True has no CPU kernel)
            out.extend(coords[:, i] for i in range(item.ndim))
        else:
            out.append(item)
    return tuple(out)


def _interior_step(index, x) -> bool:
    """Does a slice with a step > 1 land on an axis other than the first and the last? Only indices
    of slices, ints, None and one Ellipsis qualify; anything else is left to MindSpore. Costs a
    loop over the index (well under 1 us) when no slice has a step."""
    for item in index:
        if type(item) is slice and type(item.step) is int and item.step > 1:
            break
    else:
        return False
    ndim = x.ndim
    if ndim < 3:
        return False
    found, axis = False, 0
    for i, item in enumerate(index):
        t = type(item)
        if t is slice:
            step = item.step
            if type(step) is int and step > 1:
                if not (_plain_bound(item.start) and _plain_bound(item.stop)):
                    return False  # tensor bounds: MindSpore's own path
                found = found or 0 < axis < ndim - 1
            axis += 1
        elif t is int:
            axis += 1
        elif item is Ellipsis:
            axis = ndim - sum(1 for j in index[i + 1:] if j is not None)
        elif item is not None:
            return False  # tensors, lists, bools: MindSpore's own path
    return found


def _plain_bound(v) -> bool:
    return v is None or type(v) is int


def _stepped_getitem(original, x, index):
    ndim = x.ndim
    if any(item is Ellipsis for item in index):
        at = index.index(Ellipsis)
        used = sum(1 for j in index if j is not None and j is not Ellipsis)
        index = index[:at] + (slice(None),) * (ndim - used) + index[at + 1:]
    plain, gathers, axis, out_axis = [], [], 0, 0
    for item in index:
        if item is None:
            plain.append(None)
            out_axis += 1
            continue
        if type(item) is slice and type(item.step) is int and item.step > 1:
            start, stop, step = item.indices(x.shape[axis])
            n = len(range(start, stop, step))
            plain.append(slice(start, start + (n - 1) * step + 1 if n > 1 else start + n))
            if n > 1:
                gathers.append((out_axis, n, step))
            out_axis += 1
        elif type(item) is slice:
            plain.append(item)
            out_axis += 1
        else:  # int: the axis goes away
            plain.append(item)
        axis += 1
    y = original(x, tuple(plain))
    for out_axis, n, step in gathers:
        idx = _STEP_INDEX.get((n, step))
        if idx is None:
            idx = _STEP_INDEX[(n, step)] = ms.Tensor(list(range(0, (n - 1) * step + 1, step)), ms.int64)
        y = _gather(y, idx, out_axis)
    return y
