"""MindSpore CPU fallbacks for mint creation/shape/math/sort/reduction ops vs torch, in PyNative
and graph mode (mindspore.jit), forward and input gradients (see ms_parity.py for tolerances).

    .venv/bin/pytest tests/patches/test_ms_fallback_ops.py -q
"""

import math

import numpy as np
import pytest
from ms_parity import Cases, fallbacks_fixture, mint, ms, parity_test, randf

X = randf(3, 4, 5)
M = randf(4, 6)
V = randf(7)
IDX = np.array([3, 0, 2, 2], dtype=np.int64)
CASES = Cases()


# ---------------------------------------------------------------- creation (no grad)
@CASES.add(lambda t: t.arange(0, 10, 3))
def arange_int():
    return mint.arange(0, 10, 3)


@CASES.add(lambda t: t.arange(7))
def arange_end_only():
    return mint.arange(7)


@CASES.add(lambda t: t.arange(0.5, 3, 0.25))
def arange_float_step():
    return mint.arange(0.5, 3, 0.25)


@CASES.add(lambda t: t.arange(0, 5.5, 1.5, dtype=t.int64))
def arange_float_args_int_dtype():
    return mint.arange(0, 5.5, 1.5, dtype=ms.int64)


@CASES.add(lambda t: t.arange(2, 9, dtype=t.float32))
def arange_int_args_float_dtype():
    return mint.arange(2, 9, dtype=ms.float32)


@CASES.add(lambda t, x: (t.zeros_like(x), t.ones_like(x, dtype=t.int64)), [X], grad=False)
def zeros_ones_like(x):
    return mint.zeros_like(x), mint.ones_like(x, dtype=ms.int64)


@CASES.add(lambda t: (t.full((2, 3), 1.5), t.full((2,), 7), t.full((1, 2), True), t.full([2, 2], 2, dtype=t.float32)))
def full_dtypes():
    return mint.full((2, 3), 1.5), mint.full((2,), 7), mint.full((1, 2), True), mint.full([2, 2], 2, dtype=ms.float32)


@CASES.add(lambda t, x: (t.full_like(x, -1e9), t.full_like(x, 3, dtype=t.int64)), [X], grad=False)
def full_like(x):
    return mint.full_like(x, -1e9), mint.full_like(x, 3, dtype=ms.int64)


@CASES.add(lambda t: t.linspace(-1.0, 2.0, 9))
def linspace():
    return mint.linspace(-1.0, 2.0, 9)


# ---------------------------------------------------------------- shape / indexing
@CASES.add(lambda t, x: t.clone(x), [X])
def clone(x):
    return mint.clone(x)


@CASES.add(lambda t, x: (t.tril(x), t.tril(x, diagonal=-1), t.tril(x, 2)), [X])
def tril_diagonals(x):
    return mint.tril(x), mint.tril(x, diagonal=-1), mint.tril(x, 2)


@CASES.add(lambda t, x, y: t.stack([x, y, x], dim=-1), [X, X * 2])
def stack_neg_dim(x, y):
    return mint.stack([x, y, x], dim=-1)


@CASES.add(lambda t, x: t.cumsum(x, dim=-2), [X])
def cumsum_neg_dim(x):
    return mint.cumsum(x, dim=-2)


@CASES.add(lambda t, x: t.cumsum(x, 0, dtype=t.float64), [X], tol=1e-6)
def cumsum_dtype(x):
    return mint.cumsum(x, 0, dtype=ms.float64)


@CASES.add(lambda t, i: t.cumsum(i, 0), [IDX])
def cumsum_int(i):
    return mint.cumsum(i, 0)


@CASES.add(lambda t, x, i: t.index_select(x, -1, i), [X, IDX])
def index_select_neg_dim(x, i):
    return mint.index_select(x, -1, i)


@CASES.add(lambda t, x: (t.repeat_interleave(x, 2, dim=1), t.repeat_interleave(x, 3)), [X])
def repeat_interleave(x):
    return mint.repeat_interleave(x, 2, dim=1), mint.repeat_interleave(x, 3)


@CASES.add(lambda t, x: (t.roll(x, 2, 1), t.roll(x, (1, -2), (0, 2)), t.roll(x, 3)), [X])
def roll(x):
    return mint.roll(x, 2, 1), mint.roll(x, (1, -2), (0, 2)), mint.roll(x, 3)


@CASES.add(lambda t, a, b: t.outer(a, b), [V, V[:4]])
def outer(a, b):
    return mint.outer(a, b)


@CASES.add(lambda t, x: t.unbind(x, dim=1), [X])
def unbind(x):
    return mint.unbind(x, dim=1)


@CASES.add(lambda t, a, b: t.mm(a, b), [M, M.T.copy()])
def mm(a, b):
    return mint.mm(a, b)


@CASES.add(lambda t, x, a, b: t.addcmul(x, a, b, value=0.5), [X, X * 2, X + 1])
def addcmul(x, a, b):
    return mint.addcmul(x, a, b, value=0.5)


@CASES.add(lambda t, c, a, b: t.baddbmm(c, a, b, beta=0.5, alpha=2.0), [randf(3, 4, 4), X, X.transpose(0, 2, 1).copy()])
def baddbmm(c, a, b):
    return mint.baddbmm(c, a, b, beta=0.5, alpha=2.0)


# ---------------------------------------------------------------- sort / arg family (index outputs exact)
@CASES.add(lambda t, x: (t.argmax(x, dim=-1), t.argmax(x, dim=1, keepdim=True), t.argmax(x)), [X])
def argmax_variants(x):
    return mint.argmax(x, dim=-1), mint.argmax(x, dim=1, keepdim=True), mint.argmax(x)


@CASES.add(lambda t, x: (t.argmin(x, dim=0), t.argmin(x, dim=-1, keepdim=True)), [X])
def argmin_variants(x):
    return mint.argmin(x, dim=0), mint.argmin(x, dim=-1, keepdim=True)


@CASES.add(lambda t, x: t.sort(x, dim=1, descending=True), [X], grad_out=0)
def sort_descending(x):
    return mint.sort(x, dim=1, descending=True)


@CASES.add(lambda t, x: t.sort(x), [X], grad_out=0)
def sort_default(x):
    return mint.sort(x)


@CASES.add(lambda t, x: t.argsort(x, dim=0, descending=True), [X])
def argsort(x):
    return mint.argsort(x, dim=0, descending=True)


@CASES.add(lambda t, x: t.topk(x, 3, dim=-1), [X], grad_out=0)
def topk_largest(x):
    return mint.topk(x, 3, dim=-1)


@CASES.add(lambda t, x: t.topk(x, 2, dim=0, largest=False), [X], grad_out=0)
def topk_smallest(x):
    return mint.topk(x, 2, dim=0, largest=False)


# ---------------------------------------------------------------- reductions
@CASES.add(lambda t, x: (t.logsumexp(x, dim=-1), t.logsumexp(x, dim=(0, 2), keepdim=True)), [X])
def logsumexp(x):
    return mint.logsumexp(x, dim=-1), mint.logsumexp(x, dim=(0, 2), keepdim=True)


@CASES.add(lambda t, x: (t.var(x, dim=-1), t.var(x, dim=(0, 1), correction=0, keepdim=True), t.var(x)), [X])
def var_variants(x):
    return mint.var(x, dim=-1), mint.var(x, dim=(0, 1), correction=0, keepdim=True), mint.var(x)


@CASES.add(lambda t, x: (t.std(x, dim=1), t.std(x, dim=-1, keepdim=True)), [X])
def std_variants(x):
    return mint.std(x, dim=1), mint.std(x, dim=-1, keepdim=True)


@CASES.add(lambda t, x: (t.norm(x), t.norm(x, p=1, dim=-1), t.norm(x, dim=(1, 2), keepdim=True)), [X])
def norm_variants(x):
    return mint.norm(x), mint.norm(x, p=1, dim=-1), mint.norm(x, dim=(1, 2), keepdim=True)


@CASES.add(lambda t, i: (t.count_nonzero(i), t.count_nonzero(i.view(2, 2), dim=1)), [IDX])
def count_nonzero(i):
    return mint.count_nonzero(i), mint.count_nonzero(mint.reshape(i, (2, 2)), dim=1)


# ---------------------------------------------------------------- math_ops.py
P = randf(3, 4, 5, lo=0.1, hi=0.9)


@CASES.add(lambda t, x: (t.acos(x), t.asin(x), t.atan(x), t.atan2(x, 1 - x), t.exp2(x), t.log2(x), t.log10(x),
                         t.frac(x * 7)), [P])
def elementwise_math(x):
    return (mint.acos(x), mint.asin(x), mint.atan(x), mint.atan2(x, 1 - x), mint.exp2(x), mint.log2(x), mint.log10(x),
            mint.frac(x * 7))


@CASES.add(lambda t, m, v, c: (t.dot(v, v), t.mv(m, v[:6]), t.addmm(c, m, m.T, beta=0.5, alpha=2), t.trace(m),
                               t.diag(v), t.diag(m, 1), t.take(m, t.tensor([[0, 7], [23, 5]]))),
           [M, V[:6].copy(), randf(4, 4)])
def linalg_small(m, v, c):
    return (mint.dot(v, v), mint.mv(m, v[:6]), mint.addmm(c, m, mint.t(m), beta=0.5, alpha=2), mint.trace(m),
            mint.diag(v), mint.diag(m, 1), mint.take(m, ms.Tensor([[0, 7], [23, 5]], ms.int64)))


@CASES.add(lambda t, x: (*t.std_mean(x, dim=-1), *t.var_mean(x, dim=(0, 1), keepdim=True)), [X])
def std_var_mean(x):
    return (*mint.std_mean(x, dim=-1), *mint.var_mean(x, dim=(0, 1), keepdim=True))


@CASES.add(lambda t, x: t.floor_divide(x, 0.3), [X], grad=False)  # torch has no derivative for it
def floor_divide(x):
    return mint.floor_divide(x, 0.3)


@CASES.add(lambda t, x: t.scatter_add(x, 2, t.zeros(3, 4, 5, dtype=t.int64), x), [X])
def scatter_add(x):
    return mint.scatter_add(x, 2, mint.zeros((3, 4, 5), dtype=ms.int64), x)


fallbacks = fallbacks_fixture("mint.arange")
test_fallback_matches_torch = parity_test(CASES)


def test_equal_returns_python_bool():
    x = ms.Tensor(X)
    assert mint.equal(x, x) is True
    assert mint.equal(x, x + 1) is False
    assert mint.equal(x, x[:1]) is False


def _stats(t, mean, std, tol=0.05):
    a = t.asnumpy().astype(np.float64)
    assert abs(a.mean() - mean) < tol and abs(a.std() - std) < tol, (a.mean(), a.std())


@pytest.mark.parametrize("graph", [False, True], ids=["pynative", "graph"])
def test_random_creation_shapes_dtypes_and_statistics(graph):
    def draws():
        return (mint.rand((200, 100)), mint.randn(200, 100), mint.randint(3, 9, (200, 100)), mint.randperm(50),
                mint.normal(2.0, 3.0, (200, 100)), mint.rand_like(mint.zeros((200, 100))),
                mint.randn_like(mint.zeros((200, 100), dtype=ms.float16)), mint.multinomial(mint.ones((4, 10)), 3),
                mint.bernoulli(mint.full((200, 100), 0.25)), mint.randint_like(mint.zeros((50,)), 2, 4))

    u, n, ri, perm, nm, ul, nl, mn, be, ril = (ms.jit(draws) if graph else draws)()
    _stats(u, 0.5, math.sqrt(1 / 12))
    _stats(n, 0.0, 1.0)
    _stats(nm, 2.0, 3.0, tol=0.15)
    _stats(ul, 0.5, math.sqrt(1 / 12))
    assert nl.dtype == ms.float16 and nl.shape == (200, 100)
    assert ri.dtype == ms.int64 and ri.asnumpy().min() == 3 and ri.asnumpy().max() == 8
    assert perm.dtype == ms.int64 and sorted(perm.asnumpy().tolist()) == list(range(50))
    assert mn.dtype == ms.int64 and mn.shape == (4, 3) and all(len(set(r)) == 3 for r in mn.asnumpy().tolist())
    assert be.dtype == ms.float32 and abs(be.asnumpy().mean() - 0.25) < 0.03
    assert ril.dtype == ms.float32 and set(ril.asnumpy().tolist()) <= {2.0, 3.0}


def test_tensor_method_fallbacks_pynative():
    import torch

    x = ms.Tensor(X)
    tx = torch.tensor(X)
    np.testing.assert_array_equal(x.clone().asnumpy(), X)
    np.testing.assert_array_equal(x.repeat(2, 1, 3).asnumpy(), tx.repeat(2, 1, 3).numpy())
    np.testing.assert_array_equal(x.roll(2, -1).asnumpy(), tx.roll(2, -1).numpy())
    np.testing.assert_array_equal(x.new_full((2, 3), 1.5).asnumpy(), tx.new_full((2, 3), 1.5).numpy())
    y = ms.Tensor(X.copy())
    assert y.zero_() is y and not y.asnumpy().any()
    y.fill_(2.5)
    assert (y.asnumpy() == 2.5).all()
    mask = X > 0
    y.masked_fill_(ms.Tensor(mask), -1.0)
    np.testing.assert_array_equal(y.asnumpy(), np.where(mask, -1.0, 2.5).astype(np.float32))
    z = ms.Tensor(np.zeros((300, 100), np.float32))
    _stats(z.normal_(1.0, 2.0), 1.0, 2.0, tol=0.1)
    _stats(z.uniform_(-1.0, 1.0), 0.0, math.sqrt(4 / 12))
    g = ms.grad(lambda a: (a * a.detach()).sum())(x)  # detach: created by the patch, no gradient through it
    np.testing.assert_allclose(g.asnumpy(), X, rtol=1e-6)


def test_where_with_a_condition_only_is_nonzero_as_tuple():
    """torch.where(cond) == torch.nonzero(cond, as_tuple=True); MindSpore CPU lacks its NonZeroExt kernel."""
    import torch

    cond = X > 0.3
    ours = mint.where(ms.Tensor(cond))
    theirs = torch.where(torch.tensor(cond))
    assert len(ours) == len(theirs) == 3
    for a, b in zip(ours, theirs):
        assert a.dtype == ms.int64
        np.testing.assert_array_equal(a.asnumpy(), b.numpy())
    np.testing.assert_array_equal(mint.where(ms.Tensor(cond), ms.Tensor(X), 0.0).asnumpy(), np.where(cond, X, 0.0))
