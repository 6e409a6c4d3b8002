"""MindSpore CPU fallbacks for cosine_embedding_loss, dropout2d, median, index_add, histc, einsum
(PyNative and graph mode, forward and gradients vs torch) and bincount / unique (data-dependent
shapes: PyNative only, as documented); dropout2d by statistics, whole-channel zeros and exact
identity in eval.

    .venv/bin/pytest tests/patches/test_ms_fallback_gaps.py -q
"""

import numpy as np
import pytest
from ms_parity import Cases, F, compare, fallbacks_fixture, mint, ms, parity_test, randf

A, B = randf(6, 5), randf(6, 5)
TGT = np.array([1, -1, 1, -1, -1, 0], np.float32)  # 0: neither branch (loss 0), as torch
CASES = Cases()


# ---------------------------------------------------------------- cosine_embedding_loss
def _t_cos(t, a, b, y):
    f = t.nn.functional.cosine_embedding_loss
    return (f(a, b, y), f(a, b, y, margin=0.3, reduction="sum"), f(a, b, y, margin=-0.2, reduction="none"),
            f(a[0], b[0], y[1], reduction="none"), f(a[2], a[2] * 2, y[0]))


@CASES.add(_t_cos, [A, B, TGT], no_grad=(2,))
def cosine_embedding_loss_margin_reductions_unbatched(a, b, y):
    f = F.cosine_embedding_loss
    return (f(a, b, y), f(a, b, y, margin=0.3, reduction="sum"), f(a, b, y, margin=-0.2, reduction="none"),
            f(a[0], b[0], y[1], reduction="none"), f(a[2], a[2] * 2, y[0]))


@CASES.add(lambda t, x: (t.nn.functional.dropout2d(x, 0.0), t.nn.functional.dropout2d(x, 0.7, training=False),
                         t.nn.functional.dropout2d(x, 1.0)), [randf(2, 3, 4, 5)])
def dropout2d_identity_and_p1(x):
    return F.dropout2d(x, 0.0), F.dropout2d(x, 0.7, training=False), F.dropout2d(x, 1.0)



# ---------------------------------------------------------------- median / index_add / histc
TIES = np.round(randf(3, 4, 6, lo=-3, hi=3))  # many equal values: torch's lower median and its index
EVEN = randf(3, 4, 6)


@CASES.add(lambda t, x, y: (*t.median(x, -1), *t.median(x, 0, keepdim=True), *t.median(y, 1), t.median(x), t.median(y)),
           [TIES, EVEN])
def median_dims_keepdim_ties_and_global(x, y):
    return (*mint.median(x, -1), *mint.median(x, 0, keepdim=True), *mint.median(y, 1), mint.median(x), mint.median(y))


SRC = randf(3, 2, 6)


@CASES.add(lambda t, x, s: (t.index_add(x, 1, t.tensor([3, 0]), s), t.index_add(x, 1, t.tensor([1, 1]), s, alpha=-0.5),
                            t.index_add(x, -1, t.tensor([5, 0, 2], dtype=t.int32), x[:, :, :3] * 2)), [EVEN, SRC])
def index_add_alpha_duplicates_negative_dim(x, s):
    return (mint.index_add(x, 1, ms.Tensor([3, 0], ms.int64), s),
            mint.index_add(x, 1, ms.Tensor([1, 1], ms.int64), s, alpha=-0.5),
            mint.index_add(x, -1, ms.Tensor([5, 0, 2], ms.int32), x[:, :, :3] * 2))


HIST = np.concatenate([randf(200, lo=-1, hi=2), np.array([0.0, 1.0, 0.5, 1.0], np.float32)])  # edges included


@CASES.add(lambda t, x: (t.histc(x, 4, 0.0, 1.0), t.histc(x, 7, -1, 2), t.histc(x), t.histc(x, 5, 0.3, 0.3)), [HIST],
           grad=False)
def histc_bins_range_edges_auto_range(x):
    return mint.histc(x, 4, 0.0, 1.0), mint.histc(x, 7, -1, 2), mint.histc(x), mint.histc(x, 5, 0.3, 0.3)


def test_histc_inside_a_differentiated_loss_has_no_gradient():
    """torch gives histc's counts no gradient; MindSpore's Histogram has no bprop, so the fallback stops it
    (transformers' MoE load-balancing loss differentiates through a histc)."""
    x = ms.Tensor(HIST)
    grad = ms.grad(lambda a: (mint.histc(a, 4, 0.0, 1.0) * 2).sum() + (a * a).sum())(x)
    np.testing.assert_allclose(grad.asnumpy(), 2 * HIST, rtol=1e-6)


# ---------------------------------------------------------------- einsum
Q, K = randf(2, 3, 4, 5), randf(2, 3, 6, 5)
M1, M2, V1 = randf(4, 5), randf(5, 3), randf(4)
BM1, BM2 = randf(2, 4, 5), randf(2, 5, 3)


def _t_einsum(t, q, k, a, b, v, x, y):
    e = t.einsum
    return (e("bhqd,bhkd->bhqk", q, k), e("ij,jk->ik", a, b), e("bij,bjk->bik", x, y), e("i,j->ij", v, v),
            e("...ij,...jk->...ik", x, b), e("ij,jk", a, b), e("bhqk,bhkd->bqhd", e("bhqd,bhkd->bhqk", q, k), k),
            e("ij->ji", a), e("bij->b", x), e("ij,ij->i", a, a), e("i,i->", v, v), e("ij,jk,kl->il", a, b, b.T),
            e("b i j, b j k -> b k i", x, y), e("...j,j->...", x, b[:, 0]), e("bij,ajk->baik", x[:1], y))


@CASES.add(_t_einsum, [Q, K, M1, M2, V1, BM1, BM2])
def einsum_contraction_patterns(q, k, a, b, v, x, y):
    e = mint.einsum
    return (e("bhqd,bhkd->bhqk", q, k), e("ij,jk->ik", a, b), e("bij,bjk->bik", x, y), e("i,j->ij", v, v),
            e("...ij,...jk->...ik", x, b), e("ij,jk", a, b), e("bhqk,bhkd->bqhd", e("bhqd,bhkd->bhqk", q, k), k),
            e("ij->ji", a), e("bij->b", x), e("ij,ij->i", a, a), e("i,i->", v, v), e("ij,jk,kl->il", a, b, b.T),
            e("b i j, b j k -> b k i", x, y), e("...j,j->...", x, b[:, 0]), e("bij,ajk->baik", x[:1], y))


fallbacks = fallbacks_fixture()
test_fallback_matches_torch = parity_test(CASES)


def _dropout2d_train(x):
    return F.dropout2d(x, 0.3), F.dropout2d(x[0], 0.6)  # 4-D (N, C, H, W) and 3-D (N, C, L), as torch


@pytest.mark.parametrize("graph", [False, True], ids=["pynative", "graph"])
def test_dropout2d_zeroes_whole_channels_with_rate_p(graph):
    x = np.abs(randf(64, 40, 3, 4)) + 0.1  # no zeros in the input
    fn = ms.jit(_dropout2d_train) if graph else _dropout2d_train
    out4, out3 = (o.asnumpy() for o in fn(ms.Tensor(x)))
    for out, inp, p in ((out4, x, 0.3), (out3, x[0], 0.6)):
        planes = out.reshape(out.shape[0], out.shape[1], -1)
        zero = (planes == 0).all(-1)
        kept = (planes != 0).all(-1)
        assert (zero | kept).all(), "a channel is partly zeroed"
        np.testing.assert_allclose(planes[kept], (inp.reshape(planes.shape) / (1 - p))[kept], rtol=1e-6)
        n = zero.size
        assert abs(zero.mean() - p) < 4 * np.sqrt(p * (1 - p) / n), f"zero rate {zero.mean():.3f} vs p={p} (n={n})"
    grad = ms.grad(lambda t: (F.dropout2d(t, 0.5) * 1.0).sum())(ms.Tensor(x)).asnumpy()
    assert set(np.unique(grad)) <= {0.0, 2.0}, "gradient is the same channel mask scaled by 1/(1-p)"


def test_dropout2d_eval_is_exact_identity():
    x = ms.Tensor(randf(2, 3, 4, 5))
    layer = mint.nn.Dropout2d(0.5)
    layer.set_train(False)
    assert layer(x) is x or (layer(x).asnumpy() == x.asnumpy()).all()
    assert F.dropout2d(x, 0.5, training=False) is x


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout2d(ms.Tensor(randf(2, 3, 4)), 1.5)
    with pytest.raises(ValueError, match="reduction must be"):
        F.cosine_embedding_loss(ms.Tensor(A), ms.Tensor(B), ms.Tensor(TGT), reduction="avg")


def test_einsum_rejects_diagonals_and_bad_equations():
    a = ms.Tensor(M1)
    with pytest.raises(NotImplementedError, match="'ii->i'.*repeated label"):
        mint.einsum("ii->i", ms.Tensor(randf(3, 3)))
    with pytest.raises(ValueError, match="term 'ijk' has 3 labels, operand has rank 2"):
        mint.einsum("ijk,jk->i", a, a)
    with pytest.raises(ValueError, match="output label 'z'"):
        mint.einsum("ij->z", a)
    assert mint.einsum("ij,jk->ik", [a, ms.Tensor(M2)]).shape == (4, 3)  # operands as one list, as torch


# ---------------------------------------------------------------- PyNative only: data-dependent shapes
def test_bincount_and_unique_match_torch_pynative():
    import torch

    ids = np.array([0, 1, 1, 3, 5, 1, 0], np.int64)
    w32, w64 = randf(7, lo=0, hi=1), randf(7, lo=0, hi=1).astype(np.float64)
    T = torch.tensor
    compare((mint.bincount(ms.Tensor(ids)), mint.bincount(ms.Tensor(ids), minlength=9),
             mint.bincount(ms.Tensor(ids.astype(np.int32)), ms.Tensor(w32)), mint.bincount(ms.Tensor(ids), ms.Tensor(w64)),
             mint.bincount(ms.Tensor(np.zeros(0, np.int64)), minlength=3)),
            (torch.bincount(T(ids)), torch.bincount(T(ids), minlength=9), torch.bincount(T(ids).int(), T(w32)),
             torch.bincount(T(ids), T(w64)), torch.bincount(torch.zeros(0, dtype=torch.int64), minlength=3)),
            1e-6, "bincount")
    big = np.array([[2**40 + 1, 2**40, 5], [2**40 + 1, -3, 2**53 + 1]], np.int64)
    rows = np.array([[1, 2, 0], [0, 5, 1], [1, 2, 0], [0, 1, 9], [0, 5, 1]], np.int64)
    for x in (big, rows, np.array([True, False, True]), np.round(randf(4, 5))):
        compare(mint.unique(ms.Tensor(x), return_inverse=True, return_counts=True),
                torch.unique(T(x), return_inverse=True, return_counts=True), 0, "unique")
        compare(mint.unique(ms.Tensor(x), sorted=False), torch.unique(T(x), sorted=False), 0, "unique sorted=False")
    for d in (0, 1, -1):
        compare(mint.unique(ms.Tensor(rows), return_inverse=True, return_counts=True, dim=d),
                torch.unique(T(rows), return_inverse=True, return_counts=True, dim=d), 0, f"unique dim={d}")
    compare(mint.unique(ms.Tensor(rows), return_counts=True, dim=0), torch.unique(T(rows), return_counts=True, dim=0),
            0, "unique counts only")


def test_bincount_and_unique_refuse_graph_mode_and_bad_input():
    with pytest.raises(ValueError, match="non-negative"):
        mint.bincount(ms.Tensor(np.array([1, -1], np.int64)))
    with pytest.raises(ValueError, match="1-D integer"):
        mint.bincount(ms.Tensor(randf(3)))
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        with pytest.raises(RuntimeError, match="PyNative only"):
            mint.unique(ms.Tensor(np.array([1, 2], np.int64)))
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
