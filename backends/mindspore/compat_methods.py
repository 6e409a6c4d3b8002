"""Function forms of torch Tensor methods whose MindSpore 2.10 namesake differs or is missing, for
codemods/mappings/methods.yaml (`x.m(args)` -> `compat.m(x, args)`). Re-exported by
backends.mindspore.compat; each is tested against torch in tests/codemods/test_method_outputs.py.
"""

from __future__ import annotations

import math
import numbers

import numpy

import mindspore
from mindspore import mint, nn, ops


__all__ = ['tensor_type', 'sort', 'nonzero', 'flip', 'tile', 'requires_grad_', 'unfold', 'clamp_min', 'unflatten', 'scatter', 'scatter_add', 'scatter_reduce', 'index_copy', 'index_put', 'tensor_round', 'new_tensor', 'new', 'element_size', 'as_strided', 'stride', 'detach_']

# Function forms of torch Tensor methods whose MindSpore 2.10 namesake differs or is missing
# (codemods/mappings/methods.yaml: x.m(args) -> compat.m(x, args)). Each is tested against torch
# in tests/codemods/test_method_outputs.py.
_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16", "int64": "Long",
               "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def _dims(dims) -> tuple:
    """f(x, 0) / f(x, 0, 1) / f(x, [0, 1]) / f(x, (0, 1)) -> a tuple of ints."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = dims[0]
    return tuple(int(d) for d in dims)


def tensor_type(input, dtype=None, **kwargs):
    """x.type(dtype) casts; x.type() is torch's type string ('torch.FloatTensor'), not MindSpore's 'Float32'."""
    if dtype is None:
        return f"torch.{_TYPE_NAMES.get(str(input.dtype).lower(), str(input.dtype))}Tensor"
    return input.astype(dtype)


def sort(input, dim=-1, descending=False, stable=False):
    """x.sort(-1): mint.sort takes dim by keyword only."""
    return mint.sort(input, dim=dim, descending=descending, stable=stable)


def nonzero(input, *, as_tuple=False):
    """x.nonzero(as_tuple=True): NonZeroExt has no CPU kernel; split the (n, ndim) int64 form instead."""
    idx = mint.nonzero(input)
    if not as_tuple:
        return idx
    return tuple(idx[:, k] for k in range(max(input.ndim, 1)))


def flip(input, *dims, **kwargs):
    """x.flip(0) / x.flip(1, 2) / x.flip([1, 2]) / x.flip(dims=...): mint.flip wants a tuple."""
    return mint.flip(input, _dims(dims or (kwargs["dims"],)))


def tile(input, *dims, **kwargs):
    """x.tile(2) / x.tile(1, 2) / x.tile([2, 1]): mint.tile wants a tuple."""
    return mint.tile(input, _dims(dims or (kwargs["dims"],)))


def requires_grad_(input, requires_grad=True):
    """x.requires_grad_(flag): a Cell's (patches/mindspore/cell_methods.py), else the requires_grad flag of a
    Parameter or Tensor; returns the receiver, as torch does. Gradients themselves come from value_and_grad."""
    if isinstance(input, nn.Cell):
        input.requires_grad_(requires_grad)
    else:
        input.requires_grad = requires_grad  # MindSpore's Tensor.requires_grad_ returns None
    return input


def unfold(input, dimension, size, step):
    """torch Tensor.unfold: sliding windows of `size` every `step` along `dimension`, the window as a new last
    axis: (..., L, ...) -> (..., (L - size) // step + 1, ..., size). (MindSpore's Tensor.unfold is im2col.)"""
    d = dimension % input.ndim
    n = (input.shape[d] - size) // step + 1
    idx = (numpy.arange(n)[:, None] * step + numpy.arange(size)[None, :]).reshape(-1)
    out = mint.index_select(input, d, mindspore.Tensor(idx, mindspore.int64))  # (..., n * size, ...)
    out = out.reshape(input.shape[:d] + (n, size) + input.shape[d + 1:])
    perm = tuple(k for k in range(out.ndim) if k != d + 1) + (d + 1,)
    return out.permute(perm)


def clamp_min(input, min):
    """torch.clamp_min(x, v) / x.clamp_min(v) is torch.clamp(x, min=v)."""
    return mint.clamp(input, min=min)


def unflatten(input, dim, sizes):
    """x.unflatten(dim, sizes): split one axis into `sizes` (one entry may be -1)."""
    d = dim % input.ndim
    return input.reshape(input.shape[:d] + tuple(int(s) for s in sizes) + input.shape[d + 1:])


# Not mint.scatter: measured on MindSpore 2.10 CPU, once mint.scatter has run on a tensor of another rank, a
# later mint.scatter on a 1-D tensor writes nothing (same process). ops.tensor_scatter_elements is unaffected.
_scatter_elements = ops.tensor_scatter_elements


def _src_like(src, index, dtype):
    """scatter's src: a scalar filled to index's shape, or the leading index.shape block of a tensor."""
    if not isinstance(src, (mindspore.Tensor, mindspore.Parameter)):
        return ops.fill(dtype, index.shape, src)
    if tuple(src.shape) != tuple(index.shape):
        src = src[tuple(slice(0, n) for n in index.shape)]
    return src.astype(dtype)


def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """x.scatter(dim, index, src | value, reduce=None | 'add' | 'multiply'). mint.scatter wants src of index's
    shape and takes no value=/reduce=; a bool input has no CPU kernel (computed as int32)."""
    src = _src_like(value if src is None else src, index, input.dtype)
    if input.dtype == mindspore.bool_:
        return scatter(input.astype(mindspore.int32), dim, index, src.astype(mindspore.int32),
                       reduce=reduce).astype(mindspore.bool_)
    if reduce is None:
        return _scatter_elements(input, index, src, dim % input.ndim, "none")
    if reduce == "add":
        return _scatter_elements(input, index, src, dim % input.ndim, "add")
    if reduce == "multiply":
        return ops.tensor_scatter_mul(input, _coords(index, dim), src)
    raise ValueError(f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}")


def scatter_add(input, dim, index, src):
    """x.scatter_add(dim, index, src): src may be larger than index (torch reads its leading block)."""
    return _scatter_elements(input, index, _src_like(src, index, input.dtype), dim % input.ndim, "add")


def _coords(index, dim):
    """(*index.shape, ndim) int64 coordinates for ops.tensor_scatter_*: index along `dim`, the position elsewhere."""
    d = dim % index.ndim
    grids = numpy.meshgrid(*[numpy.arange(n) for n in index.shape], indexing="ij")
    parts = [index.astype(mindspore.int64) if k == d else mindspore.Tensor(g, mindspore.int64)
             for k, g in enumerate(grids)]
    return ops.stack(parts, -1)


_SCATTER_INIT = {"sum": 0, "mean": 0, "prod": 1, "amax": -math.inf, "amin": math.inf}


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """torch Tensor.scatter_reduce (sum / prod / mean / amax / amin, include_self): no MindSpore namesake."""
    if reduce not in _SCATTER_INIT:
        raise ValueError(f"scatter_reduce: unknown reduce {reduce!r}")
    src = _src_like(src, index, input.dtype)
    base = input
    if not include_self:
        init = _SCATTER_INIT[reduce]
        if not input.is_floating_point() and math.isinf(init):
            info = numpy.iinfo(mindspore.dtype_to_nptype(input.dtype))
            init = info.min if init < 0 else info.max
        base = _scatter_elements(input, index, ops.fill(input.dtype, index.shape, init), dim % input.ndim, "none")
    coords = _coords(index, dim)
    if reduce in ("sum", "mean"):
        out = ops.tensor_scatter_add(base, coords, src)
        if reduce == "sum":
            return out
        count = ops.tensor_scatter_add((ops.ones_like(input) if include_self else ops.zeros_like(input)),
                                       coords, ops.ones_like(src))
        mean = out / mint.clamp(count, min=1) if input.is_floating_point() else \
            mint.div(out, mint.clamp(count, min=1), rounding_mode="floor")
        return mint.where(count > 0, mean.astype(input.dtype), input)
    op = {"prod": ops.tensor_scatter_mul, "amax": ops.tensor_scatter_max, "amin": ops.tensor_scatter_min}[reduce]
    return op(base, coords, src)


def index_copy(input, dim, index, source):
    """x.index_copy(dim, index, source): x with its slices `index` along `dim` replaced by source's."""
    d = dim % input.ndim
    shape = [1] * source.ndim
    shape[d] = -1
    index = index.reshape(shape).broadcast_to(tuple(source.shape))
    return _scatter_elements(input, index, source.astype(input.dtype), d, "none")


def index_put(input, indices, values, accumulate=False):
    """x.index_put(indices, values, accumulate): x[indices] = values (or += with duplicates summed) on a copy.
    MindSpore's Tensor.index_put wants 1-D values and an index per axis."""
    indices = tuple(indices)
    k = len(indices)
    lead, rest = tuple(input.shape[:k]), tuple(input.shape[k:])
    linear = indices[0].astype(mindspore.int64)
    for n, idx in zip(lead[1:], indices[1:]):
        linear = linear * n + idx.astype(mindspore.int64)
    linear = linear.reshape(-1)
    flat = input.reshape((-1,) + rest)
    values = mint.broadcast_to(values.astype(input.dtype), tuple(linear.shape) + rest)
    if accumulate:
        out = mint.index_add(flat, 0, linear, values)
    else:
        out = index_copy(flat, 0, linear, values)
    return out.reshape(input.shape)


def tensor_round(input, *, decimals=0):
    """x.round(decimals=d): MindSpore's Round takes decimals=0 only; torch computes round(x * 10**d) / 10**d."""
    if not decimals:
        return mint.round(input)
    if decimals > 0:
        return mint.round(input * 10.0 ** decimals) / 10.0 ** decimals
    return mint.round(input / 10.0 ** -decimals) * 10.0 ** -decimals


def new_tensor(input, data, dtype=None, **kwargs):
    """x.new_tensor(data): a tensor of x's dtype (torch), unless dtype= is given."""
    if isinstance(data, (mindspore.Tensor, mindspore.Parameter)):
        data = data.asnumpy()
    return mindspore.Tensor(numpy.asarray(data), dtype=dtype or input.dtype)


def new(input, *args, **kwargs):
    """x.new(2, 3) / x.new(size): an uninitialised tensor of x's dtype (zeros here); x.new(data): new_tensor."""
    if len(args) == 1 and not isinstance(args[0], numbers.Integral) and not (
            isinstance(args[0], tuple) and all(isinstance(a, numbers.Integral) for a in args[0])):
        return new_tensor(input, args[0])
    shape = args[0] if len(args) == 1 and isinstance(args[0], tuple) else args
    return ops.zeros(tuple(int(s) for s in shape), input.dtype)


def element_size(input):
    """x.element_size(): bytes per element."""
    return input.itemsize


def as_strided(input, size, stride, storage_offset=0):
    """x.as_strided(size, stride, storage_offset): elements of x read as torch reads a contiguous tensor's storage
    (a gather from the flattened tensor). Matches torch for a contiguous x, which is how code builds the strides
    (from x.stride() after a view); torch reads the real storage of a non-contiguous x."""
    offsets = numpy.full(tuple(size), int(storage_offset), dtype=numpy.int64)
    for k, (n, s) in enumerate(zip(size, stride)):
        shape = [1] * len(size)
        shape[k] = n
        offsets = offsets + (numpy.arange(n) * s).reshape(shape)
    return mint.index_select(input.reshape(-1), 0, mindspore.Tensor(offsets.reshape(-1), mindspore.int64)).reshape(
        tuple(size))


def stride(input, dim=None):
    """x.stride() is a tuple in torch (MindSpore: a list); x.stride(d) one int."""
    s = tuple(input.stride())
    return s if dim is None else s[dim]


def detach_(input):
    """x.detach_(): real code calls it on weights it has just built (sinusoidal tables, frozen embeddings). For
    a Parameter: no gradient (requires_grad=False). A Tensor outside value_and_grad has no graph to cut."""
    if isinstance(input, mindspore.Parameter):
        input.requires_grad = False
    return input
