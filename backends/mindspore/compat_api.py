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
from types import SimpleNamespace

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
           "device_count", "current_device", "accelerator_is_available", "current_accelerator",
           "is_bf16_supported", "backend_flags"]
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


class _Accelerator:
    """What torch.accelerator.current_accelerator() returns: a device whose `.type` names it."""

    def __init__(self, type_: str, index: int):
        self.type, self.index = type_, index

    def __repr__(self):
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type


_ACCELERATOR_TYPES = {"Ascend": "npu", "GPU": "cuda"}


def accelerator_is_available():
    """torch.accelerator.is_available: MindSpore's device target is an accelerator (not CPU)."""
    return mindspore.get_context("device_target") in _ACCELERATOR_TYPES


def current_accelerator(check_available=False):
    """torch.accelerator.current_accelerator: the accelerator MindSpore runs on, or None on CPU (as
    torch on a host without one)."""
    target = mindspore.get_context("device_target")
    if target not in _ACCELERATOR_TYPES:
        return None
    return _Accelerator(_ACCELERATOR_TYPES[target], mindspore.get_context("device_id"))


def is_bf16_supported(including_emulation=True):
    """torch.cuda.is_bf16_supported: bf16 on MindSpore's accelerator targets; False on CPU, whose bf16
    kernels are mostly missing."""
    return accelerator_is_available()


# torch.backends.cudnn.benchmark / .deterministic, torch.backends.cuda.matmul.allow_tf32, ...: switches of
# cuDNN and CUDA matmul kernels. MindSpore has none of them (and no TF32 on CPU), so a script's writes
# land here and its reads see what it wrote; the numbers do not change.
backend_flags = SimpleNamespace(
    cudnn=SimpleNamespace(benchmark=False, deterministic=False, allow_tf32=True, enabled=True),
    cuda=SimpleNamespace(matmul=SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True,
                                                allow_bf16_reduced_precision_reduction=True)),
)
