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
