"""einops on MindSpore tensors: a MindSpore backend for einops' functions, and the layers of
einops.layers.torch as MindSpore Cells. The converter maps `einops.layers.torch` here (table
codemods/mappings/einops.yaml) and imports this module into every converted file that imports einops,
so `rearrange(x, "b (h p) d -> b h p d", p=2)` works on a mindspore.Tensor as written.

    from einops import rearrange, repeat, reduce, einsum, pack, unpack   # unchanged by the converter
    from backends.mindspore.compat_einops import Rearrange, Reduce, EinMix
    patches = Rearrange("b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=4, p2=4)   # a nn.Cell

Importing this module defines `MindSporeBackend`, an einops.AbstractBackend subclass: einops finds
subclasses by itself (einops._backends.get_backend) once `mindspore` is imported. Every method is a
mint op with a CPU kernel (or a patches.mindspore fallback: mint.stack, mint.einsum), so values and
gradients match torch's to float rounding (tests/backends/test_compat_einops.py). EinMix keeps torch's
parameter names (`weight`, `bias`) and initial distributions, so a torch state_dict loads by name.
PyNative only: einops plans each call in Python from the input's shape, which graph mode cannot trace.
Free of torch: converted code imports it at run time.
"""

from __future__ import annotations

import sys

import numpy as np

import mindspore
from mindspore import mint, nn
from mindspore.common.initializer import Uniform, initializer

from einops._backends import AbstractBackend
from einops.layers import RearrangeMixin, ReduceMixin
from einops.layers._einmix import _EinmixMixin

__all__ = ["MindSporeBackend", "Rearrange", "Reduce", "EinMix"]

_FLOATS = (mindspore.float16, mindspore.float32, mindspore.float64, mindspore.bfloat16)


class MindSporeBackend(AbstractBackend):
    """What einops' rearrange/reduce/repeat/einsum/pack/unpack/parse_shape/asnumpy call, in mint ops."""

    framework_name = "mindspore"

    def is_appropriate_type(self, tensor):
        return isinstance(tensor, mindspore.Tensor)  # Parameter included

    def from_numpy(self, x):
        return mindspore.Tensor(x)

    def to_numpy(self, x):
        return x.asnumpy()

    def arange(self, start, stop):
        return mindspore.Tensor(np.arange(start, stop, dtype=np.int64))  # mint.arange: no CPU kernel

    def shape(self, x):
        return tuple(x.shape)

    def reshape(self, x, shape):
        return mint.reshape(x, tuple(shape))

    def transpose(self, x, axes):
        return mint.permute(x, tuple(axes))

    def reduce(self, x, operation, reduced_axes):
        axes = tuple(reduced_axes)
        if operation == "min":
            return mint.amin(x, dim=axes)
        if operation == "max":
            return mint.amax(x, dim=axes)
        if operation == "sum":
            return mint.sum(x, dim=axes)
        if operation == "mean":
            return mint.mean(x, dim=axes)
        if operation in ("prod", "any", "all"):  # one axis at a time, as einops' torch backend
            fn = getattr(mint, operation)
            for axis in sorted(axes, reverse=True):
                x = fn(x, dim=axis)
            return x
        raise NotImplementedError(f"Unknown reduction {operation!r}")

    def stack_on_zeroth_dimension(self, tensors: list):
        return mint.stack(tensors)

    def add_axis(self, x, new_position):
        return mint.unsqueeze(x, new_position)

    def add_axes(self, x, n_axes, pos2len):
        for axis_position in sorted(pos2len):  # ascending: each position is one of the final n_axes
            x = mint.unsqueeze(x, axis_position)
        shape = list(x.shape)
        for axis_position, axis_length in pos2len.items():
            shape[axis_position] = axis_length
        return mint.broadcast_to(x, tuple(shape))  # torch's expand (its backward sums, as torch's)

    def tile(self, x, repeats):
        return mint.tile(x, tuple(repeats))

    def concat(self, tensors, axis: int):
        return mint.cat(list(tensors), dim=axis)

    def is_float_type(self, x):
        return x.dtype in _FLOATS

    def layers(self):
        return sys.modules[__name__]

    def einsum(self, pattern, *x):
        return mint.einsum(pattern, *x)  # on CPU: patches.mindspore.einsum (transposes + batched matmul)


class Rearrange(RearrangeMixin, nn.Cell):
    """einops.layers.torch.Rearrange: `rearrange(x, pattern, **axes_lengths)` as a Cell."""

    def construct(self, input):
        return self._apply_recipe(input)


class Reduce(ReduceMixin, nn.Cell):
    """einops.layers.torch.Reduce: `reduce(x, pattern, reduction, **axes_lengths)` as a Cell."""

    def construct(self, input):
        return self._apply_recipe(input)


class EinMix(_EinmixMixin, nn.Cell):
    """einops.layers.torch.EinMix: einsum with a weight (and optional bias) the layer owns, named
    `weight` and `bias` as in torch, both U(-bound, bound) with einops' bounds."""

    def _create_parameters(self, weight_shape, weight_bound, bias_shape, bias_bound):
        self.weight = mindspore.Parameter(initializer(Uniform(weight_bound), weight_shape, mindspore.float32))
        if bias_shape is not None:
            self.bias = mindspore.Parameter(initializer(Uniform(bias_bound), bias_shape, mindspore.float32))
        else:
            self.bias = None

    def _create_rearrange_layers(self, pre_reshape_pattern, pre_reshape_lengths, post_reshape_pattern,
                                 post_reshape_lengths):
        self.pre_rearrange = None if pre_reshape_pattern is None else \
            Rearrange(pre_reshape_pattern, **(pre_reshape_lengths or {}))
        self.post_rearrange = None if post_reshape_pattern is None else \
            Rearrange(post_reshape_pattern, **(post_reshape_lengths or {}))

    def construct(self, input):
        if self.pre_rearrange is not None:
            input = self.pre_rearrange(input)
        result = mint.einsum(self.einsum_pattern, input, self.weight)
        if self.bias is not None:
            result = result + self.bias
        if self.post_rearrange is not None:
            result = self.post_rearrange(result)
        return result
