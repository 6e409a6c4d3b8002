"""torch functions and classes MindSpore 2.10 lacks (or spells with other defaults), for the
converter's mapping tables (codemods/mappings/*.yaml). Converted code calls them:

    from backends.mindspore import compat             # compat re-exports every name in __all__ here
    m = compat.isin(ids, special_ids)                   # torch.isin
    self.inv_freq = compat.Buffer(t, persistent=False)  # torch.nn.Buffer

Free of torch and of codemods. Each name has an output test against torch in
tests/codemods/test_api_outputs.py (the torch snippet converted, run on MindSpore, compared).
"""

from __future__ import annotations

import math
import numbers

import numpy

import mindspore
from mindspore import mint, nn, ops
from mindspore.common.parameter import _Buffer

F = mint.nn.functional

__all__ = ["Buffer", "get_default_dtype", "is_tracing", "mark_static_address",
           "_calculate_fan_in_and_fan_out", "isin", "bucketize", "take_along_dim", "clamp_max", "scalar_tensor",
           "unravel_index", "pad_sequence", "solve_triangular", "max_pool1d", "LeakyReLU", "Softplus", "MaxPool1d",
           "gumbel_softmax", "hann_window", "kaiser_window", "broadcast_tensors", "inf", "nan", "pi", "e",
           "mapped_kwargs", "_assert", "legacy_tensor", "set_data", "is_scripting", "is_compiling",
           "is_autocast_enabled", "is_grad_enabled", "are_deterministic_algorithms_enabled", "unchanged", "no_op",
           "device_count", "current_device",
           # Tensor methods (methods.yaml)
           "tensor_type", "sort", "nonzero", "flip", "tile", "requires_grad_", "unfold", "clamp_min", "unflatten",
           "scatter", "scatter_add", "scatter_reduce", "index_copy", "index_put", "tensor_round", "new_tensor", "new",
           "element_size", "as_strided", "stride", "detach_"]
inf, nan, pi, e = math.inf, math.nan, math.pi, math.e  # torch.inf, torch.nan, torch.pi, torch.e



def is_scripting():
    """torch.jit.is_scripting: no TorchScript here."""
    return False


def is_compiling():
    """torch.compiler.is_compiling / is_exporting: no torch.compile or torch.export here."""
    return False


def is_autocast_enabled(device_type=None):
    """torch.is_autocast_enabled: MindSpore has no autocast context (mixed precision is set per run)."""
    return False


def is_grad_enabled():
    """torch.is_grad_enabled: MindSpore differentiates functionally (value_and_grad); outside of it nothing
    records a graph, and `with torch.no_grad()` blocks are dropped by the converter (MB404)."""
    return True


def are_deterministic_algorithms_enabled():
    """torch.are_deterministic_algorithms_enabled: MindSpore's `deterministic` context switch."""
    return mindspore.get_context("deterministic") == "ON"


def no_op(*args, **kwargs):
    """torch.compiler.cudagraph_mark_step_begin: a marker for CUDA graphs; nothing to mark here."""
    return None


def unchanged(fn):
    """torch.jit.script_if_tracing: a decorator that changes nothing outside torch's tracer."""
    return fn


def device_count():
    """torch.cuda.device_count: the accelerators MindSpore's device target has (0 on CPU, as torch on a
    host without CUDA)."""
    target = mindspore.get_context("device_target")
    return 0 if target == "CPU" else mindspore.hal.device_count(target)


def current_device():
    """torch.cuda.current_device: the device id MindSpore runs on."""
    return mindspore.get_context("device_id")


def mapped_kwargs(kwargs, drop=(), rename=None):
    """A `**kwargs` argument of a mapped call, with the table's keyword edits applied at run time.

    `nn.Linear(a, b, **dd)` with `dd = {"device": d, "dtype": t}` (timm's factory kwargs): the
    converter drops `device=` from a call it can see, but not from a mapping it cannot, so it
    writes `mint.nn.Linear(a, b, **compat.mapped_kwargs(dd, drop=("device", ...)))`.
    """
    rename = rename or {}
    return {rename.get(k, k): v for k, v in kwargs.items() if k not in drop}


def _assert(condition, message):
    """torch._assert: a plain assert that symbolic tracing could see (there is none here)."""
    assert condition, message


def legacy_tensor(*args, dtype):
    """torch.LongTensor(x) and the other legacy typed constructors, told apart at run time as torch does:
    integers are sizes (torch leaves the values uninitialised; zeros here), one sequence, array or
    tensor is data, nothing is an empty tensor."""
    if not args:
        return mint.zeros((0,), dtype=dtype)
    if all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in args):
        return mint.zeros(tuple(int(a) for a in args), dtype=dtype)
    if len(args) != 1:
        raise TypeError(f"legacy tensor constructor: expected sizes or one sequence, got {args!r}")
    data = args[0]
    if isinstance(data, mindspore.Tensor):
        return data.astype(dtype)
    return mindspore.Tensor(numpy.asarray(data), dtype=dtype)


def set_data(tensor, value):
    """`tensor.uniform_(a, b)` and the other in-place initialisations (codemods/rules/init.py) when
    the target may be a Parameter (set_data) or a plain tensor (written in place: assign_value).
    Returns the target, as torch's in-place methods do."""
    if isinstance(tensor, mindspore.Parameter):
        return tensor.set_data(value)
    if getattr(value, "init", None) is not None:  # an initializer's lazy tensor
        value = value.init_data()
    tensor.assign_value(value.astype(tensor.dtype))
    return tensor


# torch.nn.Buffer: MindSpore's own port. Cell.__setattr__ registers it but drops `persistent=False`
# (MindSpore 2.10: it stays in Cell.state_dict()); backends/mindspore/state.py reads the flag itself.
Buffer = _Buffer


def get_default_dtype():
    """torch.get_default_dtype: MindSpore has no settable default; its float default is float32."""
    return mindspore.float32


def is_tracing():
    """torch.jit.is_tracing: converted code is never under torch.jit.trace."""
    return False


def mark_static_address(t, guard=True):
    """torch._dynamo.mark_static_address: a torch.compile hint; nothing to do in MindSpore."""
    return None


def _calculate_fan_in_and_fan_out(tensor):
    """torch.nn.init._calculate_fan_in_and_fan_out (shape arithmetic only)."""
    if tensor.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive = math.prod(tensor.shape[2:]) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """torch.isin (no isin in mint/ops): compare against every test element."""
    if not isinstance(elements, mindspore.Tensor):
        elements = mindspore.tensor(elements)
    if not isinstance(test_elements, mindspore.Tensor):
        test_elements = mindspore.tensor(test_elements)
    hit = (elements.reshape(elements.shape + (1,)) == test_elements.reshape((-1,))).any(-1)
    return mint.logical_not(hit) if invert else hit


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """torch.bucketize(x, b) is torch.searchsorted(b, x) with the same `right`."""
    return mint.searchsorted(boundaries, input, out_int32=out_int32, right=right)


def take_along_dim(input, indices, dim=None):
    """torch.take_along_dim: broadcast input and indices except along `dim`, then gather."""
    if dim is None:
        return mint.gather(input.reshape((-1,)), 0, indices.reshape((-1,)))
    d = dim % input.ndim
    shape_i = list(input.shape)
    shape_x = list(indices.shape)
    for k in range(input.ndim):
        if k != d:
            m = max(shape_i[k], shape_x[k])
            shape_i[k], shape_x[k] = m, m
    return mint.gather(input.broadcast_to(tuple(shape_i)), d, indices.broadcast_to(tuple(shape_x)))


def clamp_max(input, max):
    """torch.clamp_max(x, v) is torch.clamp(x, max=v)."""
    return mint.clamp(input, max=max)


def scalar_tensor(s, *, dtype=None):
    """torch.scalar_tensor: a 0-d tensor, float32 unless dtype= says otherwise."""
    return mindspore.tensor(s, dtype=dtype or mindspore.float32)


def unravel_index(indices, shape):
    """torch.unravel_index: a tuple of coordinate tensors, one per dimension of `shape`."""
    if isinstance(shape, int):
        shape = (shape,)
    if not isinstance(indices, mindspore.Tensor):
        indices = mindspore.tensor(indices)
    out, rest = [], indices
    for size in reversed(tuple(shape)):
        out.append(mint.remainder(rest, size))
        rest = mint.floor_divide(rest, size)
    return tuple(reversed(out))


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """torch.nn.utils.rnn.pad_sequence: pad each (L_i, *) tensor to the longest along dim 0."""
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        n = longest - s.shape[0]
        if n:
            fill = mint.full((n,) + tuple(s.shape[1:]), padding_value, dtype=s.dtype)
            s = mint.cat([s, fill] if padding_side == "right" else [fill, s], 0)
        padded.append(s)
    out = mint.stack(padded, 0)
    return out if batch_first else mint.transpose(out, 0, 1)


def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """torch.linalg.solve_triangular through mindspore.scipy.linalg.solve_triangular (batched)."""
    from mindspore.scipy.linalg import solve_triangular as _solve

    if left:
        return _solve(A, B, lower=not upper, unit_diagonal=unitriangular)
    At, Bt = mint.transpose(A, -1, -2), mint.transpose(B, -1, -2)  # X A = B  <=>  A^T X^T = B^T
    return mint.transpose(_solve(At, Bt, lower=upper, unit_diagonal=unitriangular), -1, -2)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """torch.nn.functional.max_pool1d through max_pool2d on a (.., 1, L) view."""
    one = lambda v: v[0] if isinstance(v, (tuple, list)) else v  # noqa: E731
    k, s = one(kernel_size), one(stride if stride is not None else kernel_size)
    out = F.max_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, one(padding)), (1, one(dilation)),
                       ceil_mode=ceil_mode, return_indices=return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


class _Activation(nn.Cell):
    def extend_repr(self):
        return ", ".join(f"{k}={v}" for k, v in self._args.items())


class LeakyReLU(_Activation):
    """torch.nn.LeakyReLU (default negative_slope 0.01; mindspore.nn.LeakyReLU's alpha is 0.2)."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self._args = {"negative_slope": negative_slope}

    def construct(self, input):
        return F.leaky_relu(input, self.negative_slope)


class Softplus(_Activation):
    """torch.nn.Softplus(beta=1.0, threshold=20.0)."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold
        self._args = {"beta": beta, "threshold": threshold}

    def construct(self, input):
        return F.softplus(input, self.beta, self.threshold)


class MaxPool1d(_Activation):
    """torch.nn.MaxPool1d (stride defaults to kernel_size)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode
        self._args = {"kernel_size": kernel_size, "stride": stride}

    def construct(self, input):
        return max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                          self.return_indices)


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """torch.nn.functional.gumbel_softmax (random: same distribution, not the same draws)."""
    return ops.gumbel_softmax(logits, tau, hard, dim)


def hann_window(window_length, periodic=True, *, dtype=None):
    """torch.hann_window: float32 by default (ops.hann_window returns float64)."""
    return ops.hann_window(window_length, periodic, dtype=dtype or mindspore.float32)


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None):
    """torch.kaiser_window: float32 by default (ops.kaiser_window returns float64)."""
    return ops.kaiser_window(window_length, periodic, beta, dtype=dtype or mindspore.float32)


def broadcast_tensors(*tensors):
    """torch.broadcast_tensors: every tensor broadcast to the common shape."""
    shape = ()
    for t in tensors:
        shape = tuple(_broadcast_shape(shape, tuple(t.shape)))
    return tuple(t.broadcast_to(shape) for t in tensors)


def _broadcast_shape(a, b):
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    out = []
    for p, q in zip(a, b):
        if p != q and 1 not in (p, q):
            raise ValueError(f"shapes {a} and {b} cannot be broadcast")
        out.append(q if p == 1 else p)
    return out


# ---------------------------------------------------------------------------------------------- Tensor methods
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


# ---------------------------------------------------------------------------------------------- breadth (torch.*)
# torch math / linalg / special functions whose MindSpore namesake differs in defaults, argument types or
# return layout, or is missing. Each is tested against torch in tests/codemods/api_cases_breadth.py.
__all__ += ["aminmax", "angle", "polygamma", "kthvalue", "nanmedian", "quantile", "nanquantile", "index_fill",
            "bartlett_window", "blackman_window", "hamming_window", "logspace", "rot90", "qr", "svd", "vander",
            "linalg_qr", "linalg_svd", "svdvals", "linalg_vander", "linalg_inv", "inv_ex", "cholesky_ex",
            "linalg_cross", "linalg_diagonal", "matrix_rank", "multi_dot", "solve", "solve_ex", "tensorinv",
            "entr", "ndtr", "ndtri", "xlog1py", "vdot", "fmin", "select", "channel_shuffle",
            "pinverse", "chain_matmul", "corrcoef", "cumulative_trapezoid", "is_same_size", "is_signed", "rsub",
            "tensordot", "triangular_solve", "rrelu", "broadcast_shapes", "nuclear_norm", "tensorsolve",
            "spherical_bessel_j0", "eigh", "eigvalsh", "lu_factor", "lu", "lu_solve", "frexp"]


def aminmax(input, *, dim=None, keepdim=False):
    """torch.aminmax: over all elements by default (ops.aminmax defaults to axis 0)."""
    if dim is None:
        flat = input.reshape(-1)
        lo, hi = mint.min(flat), mint.max(flat)
        if keepdim:
            shape = (1,) * input.ndim
            lo, hi = lo.reshape(shape), hi.reshape(shape)
        return lo, hi
    return mint.min(input, dim, keepdim)[0], mint.max(input, dim, keepdim)[0]


def angle(input):
    """torch.angle: ops.angle takes complex input only; for real input it is pi below zero, else 0 (NaN kept)."""
    if input.dtype in (mindspore.complex64, mindspore.complex128):
        return ops.angle(input)
    x = input if input.is_floating_point() else input.astype(mindspore.float32)
    return mint.where(mint.isnan(x), x, mint.where(x < 0, mint.full_like(x, math.pi), mint.zeros_like(x)))


def polygamma(n, input):
    """torch.polygamma(n, x): ops.polygamma wants n as a tensor."""
    return ops.polygamma(mindspore.tensor(int(n), mindspore.int64), input)


def kthvalue(input, k, dim=-1, keepdim=False):
    """torch.kthvalue: the k-th smallest along dim, with its int64 index (mint.kthvalue fails in PyNative)."""
    values, indices = mint.sort(input, dim=dim)
    values, indices = mint.narrow(values, dim, k - 1, 1), mint.narrow(indices, dim, k - 1, 1)
    if not keepdim:
        values, indices = mint.squeeze(values, dim), mint.squeeze(indices, dim)
    return values, indices


def nanmedian(input, dim=None, keepdim=False):
    """torch.nanmedian: over all elements by default (ops.nanmedian defaults to the last axis)."""
    if dim is None:
        return ops.nanmedian(input.reshape(-1), 0)[0]
    return ops.nanmedian(input, dim, keepdim)


def _quantile(input, q, dim, keepdim, interpolation, ignore_nan):
    """Sort along dim (NaN last), then interpolate linearly between the order statistics at q * (n - 1), n the
    number of non-NaN elements (ignore_nan) or all of them (a NaN in the slice then gives NaN)."""
    if interpolation != "linear":
        raise NotImplementedError(f"quantile(interpolation={interpolation!r}): only 'linear' is supported")
    scalar = not isinstance(q, (mindspore.Tensor, mindspore.Parameter)) or q.ndim == 0
    qt = (mindspore.tensor([float(q)], input.dtype) if not isinstance(q, (mindspore.Tensor, mindspore.Parameter))
          else q.astype(input.dtype).reshape(-1))
    d = 0 if dim is None else dim % input.ndim
    x = input.reshape(-1) if dim is None else ops.movedim(input, d, -1)  # (..., n)
    nan = mint.isnan(x)
    srt = mint.sort(mint.where(nan, mint.full_like(x, math.inf), x), dim=-1)[0]
    n = x.shape[-1]
    count = (n - mint.sum(nan.astype(mindspore.int64), -1, True)) if ignore_nan else mint.full(
        tuple(x.shape[:-1]) + (1,), n, dtype=mindspore.int64)
    pos = qt * (count.astype(input.dtype) - 1)  # (..., Q)
    lo = mint.clamp(mint.floor(pos), 0, n - 1)
    hi = mint.clamp(mint.ceil(pos), 0, n - 1)
    v_lo = mint.gather(srt, -1, lo.astype(mindspore.int64))
    v_hi = mint.gather(srt, -1, hi.astype(mindspore.int64))
    out = mint.lerp(v_lo, v_hi, pos - lo)
    bad = (count == 0) if ignore_nan else mint.any(nan, -1, True)
    out = mint.where(bad, mint.full_like(out, math.nan), out)
    out = ops.movedim(out, -1, 0)  # (Q, ...)
    if keepdim:
        out = out.reshape((out.shape[0],) + (1,) * input.ndim) if dim is None else mint.unsqueeze(out, d + 1)
    return out[0] if scalar else out


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """torch.quantile (ops.quantile has no CPU kernel): linear interpolation only."""
    return _quantile(input, q, dim, keepdim, interpolation, ignore_nan=False)


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """torch.nanquantile: as quantile, ignoring NaN."""
    return _quantile(input, q, dim, keepdim, interpolation, ignore_nan=True)


def index_fill(input, dim, index, value):
    """torch.index_fill: ops.index_fill wants int32 indices."""
    return ops.index_fill(input, dim, index.astype(mindspore.int32), value)


def _window(fn, window_length, periodic, dtype, **kw):
    dtype = dtype or mindspore.float32
    if window_length == 1:
        return mint.ones((1,), dtype=dtype)
    n = int(window_length) if fn is ops.hamming_window else mindspore.tensor(int(window_length), mindspore.int32)
    return fn(n, periodic, dtype=dtype, **kw)


def bartlett_window(window_length, periodic=True, *, dtype=None, **kwargs):
    """torch.bartlett_window: ops.bartlett_window wants the length as a tensor."""
    return _window(ops.bartlett_window, window_length, periodic, dtype)


def blackman_window(window_length, periodic=True, *, dtype=None, **kwargs):
    """torch.blackman_window."""
    return _window(ops.blackman_window, window_length, periodic, dtype)


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None, **kwargs):
    """torch.hamming_window."""
    return _window(ops.hamming_window, window_length, periodic, dtype, alpha=alpha, beta=beta)


def logspace(start, end, steps, base=10.0, *, dtype=None, **kwargs):
    """torch.logspace: base ** linspace(start, end, steps), computed in float64 (ops.logspace wants tensors
    and an int base)."""
    exps = ops.linspace(float(start), float(end), int(steps)).astype(mindspore.float64)
    return mint.pow(float(base), exps).astype(dtype or mindspore.float32)


def rot90(input, k=1, dims=(0, 1)):
    """torch.rot90: ops.rot90 has no defaults for k and dims."""
    return ops.rot90(input, int(k), tuple(dims))


def qr(input, some=True):
    """torch.qr(A, some=True) -> (Q, R)."""
    return tuple(ops.qr(input, "reduced" if some else "complete"))


def linalg_qr(A, mode="reduced"):
    """torch.linalg.qr (mint.linalg.qr has no CPU kernel, LinalgQr)."""
    return tuple(ops.qr(A, mode))


def svd(input, some=True, compute_uv=True):
    """torch.svd -> (U, S, V) with V, not V^H (ops.svd returns (S, U, V))."""
    s, u, v = ops.svd(input, full_matrices=not some)
    if not compute_uv:
        return mint.zeros_like(u), s, mint.zeros_like(v)
    return u, s, v


def linalg_svd(A, full_matrices=True, *, driver=None):
    """torch.linalg.svd -> (U, S, Vh); full matrices by default (ops.svd: reduced)."""
    s, u, v = ops.svd(A, full_matrices=full_matrices)
    return u, s, mint.transpose(v, -2, -1)


def svdvals(A, *, driver=None):
    """torch.linalg.svdvals."""
    return ops.svd(A, compute_uv=False)


def vander(x, N=None, increasing=False):
    """torch.vander: decreasing powers unless increasing=True."""
    n = x.shape[0] if N is None else int(N)
    out = mint.pow(x.unsqueeze(-1), ops.arange(n - 1, -1, -1).astype(x.dtype))
    return mint.flip(out, (-1,)) if increasing else out


def linalg_vander(x, *, N=None):
    """torch.linalg.vander: increasing powers, batched over leading dims."""
    n = x.shape[-1] if N is None else int(N)
    return mint.pow(x.unsqueeze(-1), ops.arange(0, n).astype(x.dtype))


def linalg_inv(A):
    """torch.linalg.inv (mint.linalg.inv has no CPU kernel, MatrixInverseExt)."""
    return ops.inverse(A)


def _info(A):
    return mint.zeros(tuple(A.shape[:-2]), dtype=mindspore.int32)


def inv_ex(A, *, check_errors=False):
    """torch.linalg.inv_ex -> (inverse, info); info is 0 (a singular A gives inf/nan, not an error code)."""
    return ops.inverse(A), _info(A)


def cholesky_ex(A, *, upper=False, check_errors=False):
    """torch.linalg.cholesky_ex -> (L, info); info is 0."""
    return ops.cholesky(A, upper), _info(A)


def linalg_cross(input, other, *, dim=-1):
    """torch.linalg.cross: dim=-1 by default (mint.cross: the first dimension of size 3)."""
    return mint.cross(input, other, dim=dim)


def linalg_diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """torch.linalg.diagonal: the last two dims by default (ops.diagonal: the first two)."""
    return ops.diagonal(A, offset, dim1, dim2)


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False, tol=None):
    """torch.linalg.matrix_rank: singular values above max(atol, rtol * largest), int64;
    rtol defaults to eps * max(m, n) when atol and rtol are both unset."""
    s = ops.svd(A, compute_uv=False)
    if tol is not None:
        atol, rtol = tol, 0.0
    if rtol is None:
        rtol = 0.0 if atol is not None and atol > 0 else _EPS_OF.get(A.dtype, 1.1920928955078125e-07) * max(A.shape[-2:])
    smax = mint.max(s, -1, True)[0] if s.shape[-1] else mint.zeros_like(s[..., :1])
    thresh = mint.maximum(smax * rtol, mint.full_like(smax, float(atol or 0.0)))
    return mint.sum((s > thresh).astype(mindspore.int64), -1)


_EPS_OF = {mindspore.float32: 1.1920928955078125e-07, mindspore.float64: 2.220446049250313e-16,
           mindspore.float16: 0.0009765625}


def multi_dot(tensors):
    """torch.linalg.multi_dot: a 1-D first (last) tensor is a row (column) vector."""
    out = tensors[0]
    for t in tensors[1:]:
        out = mint.matmul(out, t)
    return out


def solve(A, B, *, left=True):
    """torch.linalg.solve: A X = B (X A = B with left=False); B may be a (batch of) vector(s)."""
    if not left:
        return mint.transpose(solve(mint.transpose(A, -2, -1), mint.transpose(B, -2, -1)), -2, -1)
    vector = B.ndim == 1 or B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1])
    rhs = B.unsqueeze(-1) if vector else B
    batch = _broadcast_shape(tuple(A.shape[:-2]), tuple(rhs.shape[:-2]))
    A = mint.broadcast_to(A, tuple(batch) + tuple(A.shape[-2:]))
    rhs = mint.broadcast_to(rhs, tuple(batch) + tuple(rhs.shape[-2:]))
    out = ops.matrix_solve(A, rhs)
    return out.squeeze(-1) if vector else out


def solve_ex(A, B, *, left=True, check_errors=False):
    """torch.linalg.solve_ex -> (result, info); info is 0."""
    return solve(A, B, left=left), _info(A)


def tensorinv(A, ind=2):
    """torch.linalg.tensorinv: the inverse of A seen as a (prod(shape[:ind]), prod(shape[ind:])) matrix."""
    rows, cols = tuple(A.shape[:ind]), tuple(A.shape[ind:])
    n = math.prod(rows)
    return ops.inverse(A.reshape(n, -1)).reshape(cols + rows)


def entr(input):
    """torch.special.entr: -x log x for x > 0, 0 at 0, -inf below 0 (NaN kept)."""
    pos = -input * mint.log(mint.where(input > 0, input, mint.ones_like(input)))
    out = mint.where(input > 0, pos, mint.where(input == 0, mint.zeros_like(input),
                                                 mint.full_like(input, -math.inf)))
    return mint.where(mint.isnan(input), input, out)


def ndtr(input):
    """torch.special.ndtr: the standard normal CDF, 0.5 * erfc(-x / sqrt(2))."""
    return 0.5 * mint.erfc(-input * (1.0 / math.sqrt(2.0)))


def ndtri(input):
    """torch.special.ndtri: the inverse of ndtr, sqrt(2) * erfinv(2p - 1). float32 2p - 1 rounds to -1 below
    p ~ 3e-8 (result -inf where torch's rational approximation stays finite)."""
    return math.sqrt(2.0) * mint.erfinv(2.0 * input - 1.0)


def xlog1py(input, other):
    """torch.special.xlog1py: x * log1p(y), 0 where x == 0 (unless y is NaN)."""
    if not isinstance(input, (mindspore.Tensor, mindspore.Parameter)):
        input = mint.full_like(other, float(input))
    if not isinstance(other, (mindspore.Tensor, mindspore.Parameter)):
        other = mint.full_like(input, float(other))
    out = input * mint.log1p(other)
    return mint.where((input == 0) & ~mint.isnan(other), mint.zeros_like(out), out)


def vdot(input, other):
    """torch.vdot: sum(conj(input) * other) of two 1-D tensors (mint.vdot: 'Not implement' on CPU)."""
    if input.dtype in (mindspore.complex64, mindspore.complex128):
        input = ops.conj(input)
    return mint.sum(input * other)


def fmin(input, other):
    """torch.fmin: the minimum, ignoring a NaN on one side (ops.fmin has no CPU kernel)."""
    out = mint.minimum(input, other)
    out = mint.where(mint.isnan(input), other + mint.zeros_like(out), out)
    return mint.where(mint.isnan(other), input + mint.zeros_like(out), out)


def select(input, dim, index):
    """torch.select: x[..., index, ...] on dim, the dim removed (mint.select has no CPU gradient: InplaceCopy)."""
    index = int(index) % input.shape[dim]
    return mint.squeeze(mint.narrow(input, dim, index, 1), dim)


def channel_shuffle(input, groups):
    """torch.channel_shuffle on (N, C, *): (N, g, C/g, *) -> (N, C/g, g, *) (ops.channel_shuffle has no gradient)."""
    n, c = input.shape[0], input.shape[1]
    rest = tuple(input.shape[2:])
    out = mint.transpose(input.reshape((n, groups, c // groups) + rest), 1, 2)
    return out.reshape((n, c) + rest)


def detach_(input):
    """x.detach_(): real code calls it on weights it has just built (sinusoidal tables, frozen embeddings). For
    a Parameter: no gradient (requires_grad=False). A Tensor outside value_and_grad has no graph to cut."""
    if isinstance(input, mindspore.Parameter):
        input.requires_grad = False
    return input


def pinverse(input, rcond=1e-15):
    """torch.pinverse: linalg.pinv with rtol=rcond."""
    return ops.pinv(input, rtol=rcond)


def chain_matmul(*matrices):
    """torch.chain_matmul(a, b, c): a @ b @ c."""
    return multi_dot(matrices)


def corrcoef(input):
    """torch.corrcoef: Pearson correlation of the rows, clipped to [-1, 1]."""
    c = ops.cov(input)
    if c.ndim == 0:
        return c / c
    d = mint.sqrt(ops.diagonal(c))
    return mint.clamp(c / d[:, None] / d[None, :], -1, 1)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """torch.cumulative_trapezoid: running trapezoid sums along dim (n - 1 values)."""
    n = y.shape[dim]
    avg = (mint.narrow(y, dim, 1, n - 1) + mint.narrow(y, dim, 0, n - 1)) * 0.5
    if x is not None:  # 1-D x: spacing along dim; else x has y's shape
        step = mint.diff(x, dim=-1 if x.ndim == 1 else dim)
        avg = avg * (step.reshape((-1,) + (1,) * (y.ndim - 1 - dim % y.ndim)) if x.ndim == 1 else step)
    elif dx is not None:
        avg = avg * dx
    return mint.cumsum(avg, dim)


def is_same_size(input, other):
    """torch.is_same_size."""
    return tuple(input.shape) == tuple(other.shape)


def is_signed(input):
    """torch.is_signed: every dtype but uint8 and bool is signed."""
    return input.dtype not in (mindspore.uint8, mindspore.bool_)


def rsub(input, other, *, alpha=1):
    """torch.rsub: other - alpha * input."""
    return mint.sub(other, input, alpha=alpha)


def tensordot(a, b, dims=2, out=None):
    """torch.tensordot: dims is an int (the last dims of a with the first of b) or two lists of dims."""
    if isinstance(dims, int):
        axes = (list(range(a.ndim - dims, a.ndim)), list(range(dims)))
    elif isinstance(dims, (mindspore.Tensor, mindspore.Parameter)):
        axes = tuple(dims.asnumpy().tolist())
    else:
        axes = tuple(list(d) if isinstance(d, (list, tuple)) else [d] for d in dims)
    return ops.tensor_dot(a, b, axes)


def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False):
    """torch.triangular_solve(b, A) -> (solution of A X = b, A)."""
    if transpose:
        A_ = mint.transpose(A, -2, -1)
        return solve_triangular(A_, b, upper=not upper, unitriangular=unitriangular), A
    return solve_triangular(A, b, upper=upper, unitriangular=unitriangular), A


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None):
    """torch.rrelu: in eval (the default) a leaky ReLU with slope (lower + upper) / 2; random slopes in training."""
    if training:
        return ops.rrelu(input, lower, upper)
    return F.leaky_relu(input, (lower + upper) / 2)


def broadcast_shapes(*shapes):
    """torch.broadcast_shapes -> the broadcast shape as a tuple."""
    out = ()
    for sh in shapes:
        out = tuple(_broadcast_shape(tuple(out), (sh,) if isinstance(sh, int) else tuple(sh)))
    return out


def nuclear_norm(input, dim=None, keepdim=False):
    """torch.nuclear_norm: the sum of singular values over dim (default: the last two)."""
    return mint.linalg.matrix_norm(input, "nuc", dim=(-2, -1) if dim is None else tuple(dim), keepdim=keepdim)


def tensorsolve(A, B, dims=None):
    """torch.linalg.tensorsolve: X with tensordot(A, X, X.ndim) == B."""
    if dims is not None:
        dims = [d % A.ndim for d in dims]
        A = ops.permute(A, tuple([d for d in range(A.ndim) if d not in dims] + dims))
    rest = tuple(A.shape[B.ndim:])
    n = math.prod(B.shape)
    return solve(A.reshape(n, -1), B.reshape(n)).reshape(rest)


def spherical_bessel_j0(input):
    """torch.special.spherical_bessel_j0: sin(x) / x, 1 at 0."""
    safe = mint.where(input == 0, mint.ones_like(input), input)
    return mint.where(input == 0, mint.ones_like(input), mint.sin(safe) / safe)


def eigh(A, UPLO="L"):
    """torch.linalg.eigh -> (eigenvalues ascending, eigenvectors) through mindspore.scipy.linalg.eigh."""
    import mindspore.scipy.linalg as sl

    w, v = sl.eigh(A, lower=UPLO == "L")
    return w, v


def eigvalsh(A, UPLO="L"):
    """torch.linalg.eigvalsh: the eigenvalues of eigh."""
    return eigh(A, UPLO)[0]


def lu_factor(A, *, pivot=True):
    """torch.linalg.lu_factor -> (LU, pivots): 1-based int32 pivots, as LAPACK and torch (scipy's are 0-based)."""
    import mindspore.scipy.linalg as sl

    lu_, piv = sl.lu_factor(A)
    return lu_, piv.astype(mindspore.int32) + 1


def lu(A, *, pivot=True):
    """torch.linalg.lu -> (P, L, U) with A = P L U; P in A's dtype."""
    import mindspore.scipy.linalg as sl

    p, l_, u_ = sl.lu(A)
    return p.astype(A.dtype), l_, u_


def lu_solve(LU, pivots, B, *, left=True, adjoint=False):
    """torch.linalg.lu_solve(LU, pivots, B) for left=True, adjoint=False."""
    import mindspore.scipy.linalg as sl

    if not left or adjoint:
        raise NotImplementedError("lu_solve: only left=True, adjoint=False")
    return sl.lu_solve((LU, (pivots - 1).astype(mindspore.int32)), B)


def frexp(input):
    """torch.frexp -> (mantissa in [0.5, 1) with input's sign, int32 exponent); 0 -> (0, 0)."""
    a = mint.abs(input)
    nz = a > 0
    e = mint.floor(mint.log2(mint.where(nz, a, mint.ones_like(a)))) + 1
    m = input / mint.pow(2.0, e)
    # log2 can be off by one ulp at powers of two: renormalise into [0.5, 1)
    hi = mint.abs(m) >= 1
    m, e = mint.where(hi, m * 0.5, m), mint.where(hi, e + 1, e)
    lo = (mint.abs(m) < 0.5) & nz
    m, e = mint.where(lo, m * 2.0, m), mint.where(lo, e - 1, e)
    return mint.where(nz, m, input), mint.where(nz, e, mint.zeros_like(e)).astype(mindspore.int32)
