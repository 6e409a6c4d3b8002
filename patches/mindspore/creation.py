"""Fallbacks for mint creation and random ops that have no CPU kernel in MindSpore 2.10.

Each function keeps the torch signature and dtype rules that converted code relies on, and is
built from ops that do have CPU kernels. Originals are captured at import (`_ops_*`) so that the
patch manager's alias switching can never make a fallback call itself. Graph-mode safe: only
constant-foldable Python on arguments, no try/except.
"""

from __future__ import annotations

import mindspore as ms
from mindspore import ops

from patches.mindspore.args import INTEGRAL as _INTEGRAL

_arange = ops.arange
_fill = ops.fill
_cast = ops.cast
_zeros_like = ops.zeros_like
_ones_like = ops.ones_like
_deepcopy = ops.deepcopy
_linspace = ops.linspace
_standard_normal = ops.standard_normal
_uniform = ops.uniform
_randint = ops.randint
_randperm = ops.randperm
_multinomial = ops.multinomial


def _default_dtype(*values):
    """torch's inference for Python scalars: bool -> bool, int -> int64, any float -> float32."""
    for v in values:
        if isinstance(v, float):
            return ms.float32
    for v in values:
        if not isinstance(v, bool):
            return ms.int64
    return ms.bool_


def _shape(size):
    if isinstance(size, int):
        return (size,)
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])  # rand((2, 3)) passed through *size
    return tuple(size)


def _no_generator(generator):
    if generator is not None:
        raise ValueError("the CPU fallback cannot honour generator=; seed with mindspore.set_seed")


def arange(start=0, end=None, step=1, *, dtype=None):
    if end is None:
        start, end = 0, start
    out_dtype = _default_dtype(start, end, step) if dtype is None else dtype
    if out_dtype in _INTEGRAL:  # torch casts the scalars to the integral dtype first
        start, end, step = int(start), int(end), int(step)
    if isinstance(start, float) or isinstance(end, float) or isinstance(step, float):
        # values start + i*step computed in float64 as torch does, then cast
        return _cast(_arange(start, end, step, dtype=ms.float64), out_dtype)
    return _cast(_arange(start, end, step, dtype=ms.int64), out_dtype)


def zeros_like(input, *, dtype=None):
    return _zeros_like(input, dtype=input.dtype if dtype is None else dtype)


def ones_like(input, *, dtype=None):
    return _ones_like(input, dtype=input.dtype if dtype is None else dtype)


def full(size, fill_value, *, dtype=None):
    return _fill(_default_dtype(fill_value) if dtype is None else dtype, _shape(size), fill_value)


def full_like(input, fill_value, *, dtype=None):
    return _fill(input.dtype if dtype is None else dtype, input.shape, fill_value)


def linspace(start, end, steps, *, dtype=None):
    out = _linspace(ms.Tensor(start, ms.float32), ms.Tensor(end, ms.float32), steps)
    return out if dtype is None else _cast(out, dtype)


def clone(input):
    return _deepcopy(input)


def rand(*size, generator=None, dtype=None, device=None):
    _no_generator(generator)
    out = _uniform(_shape(size), ms.Tensor(0.0, ms.float32), ms.Tensor(1.0, ms.float32))
    return out if dtype is None else _cast(out, dtype)


def randn(*size, generator=None, dtype=None, device=None):
    _no_generator(generator)
    out = _standard_normal(_shape(size))
    return out if dtype is None else _cast(out, dtype)


def rand_like(input, *, dtype=None, device=None):
    return rand(input.shape, dtype=input.dtype if dtype is None else dtype)


def randn_like(input, *, dtype=None, device=None):
    return randn(input.shape, dtype=input.dtype if dtype is None else dtype)


def randint(*args, generator=None, dtype=None, device=None):
    """randint(high, size) or randint(low, high, size); int64 by default as in torch."""
    _no_generator(generator)
    if len(args) == 2:
        low, high, size = 0, args[0], args[1]
    else:
        low, high, size = args[0], args[1], args[2]
    out = _randint(low, high, _shape(size), dtype=ms.int64)
    return out if dtype is None else _cast(out, dtype)


def randperm(n, *, generator=None, dtype=ms.int64):
    _no_generator(generator)
    return _cast(_randperm(n), dtype)


def normal(mean=0.0, std=1.0, size=None, generator=None):
    _no_generator(generator)
    if size is not None:
        return _standard_normal(_shape(size)) * std + mean
    shape = (mean * 0 + std * 0).shape  # broadcast shape of tensor mean/std
    return _standard_normal(shape) * std + mean


def multinomial(input, num_samples, replacement=False, *, generator=None):
    _no_generator(generator)
    return _cast(_multinomial(input, num_samples, replacement), ms.int64)


def bernoulli(input, *, generator=None):
    """Samples 1 with probability input (torch semantics), same dtype as input."""
    _no_generator(generator)
    u = _uniform(input.shape, ms.Tensor(0.0, ms.float32), ms.Tensor(1.0, ms.float32))
    return _cast(u < _cast(input, ms.float32), input.dtype)
