"""torch math / linalg / special functions whose MindSpore namesake differs in defaults, argument types or
return layout, or is missing, for codemods/mappings/*.yaml. Re-exported by backends.mindspore.compat;
each is tested against torch in tests/codemods/api_cases_breadth.py.
"""

from __future__ import annotations

import math

import mindspore
from mindspore import mint, ops

from backends.mindspore.compat_api import _broadcast_shape, solve_triangular

F = mint.nn.functional

# torch math / linalg / special functions whose MindSpore namesake differs in defaults, argument types or
# return layout, or is missing. Each is tested against torch in tests/codemods/api_cases_breadth.py.
__all__ = ["aminmax", "angle", "polygamma", "kthvalue", "nanmedian", "quantile", "nanquantile", "index_fill",
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
