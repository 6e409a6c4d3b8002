"""MindSpore CPU fallbacks for cosine_embedding_loss, dropout2d, median, index_add, histc, einsum
(PyNative and graph mode, forward and gradients vs torch) and bincount / unique (data-dependent
shapes: PyNative only, as documented); dropout2d by statistics, whole-channel zeros and exact
identity in eval.

    .venv/bin/pytest tests/patches/test_ms_fallback_gaps.py -q
"""

import numpy as np
import pytest
from conftest import needs
from ms_parity import Cases, compare, randf, run

try:
    import mindspore as ms
    from mindspore import mint

    F = mint.nn.functional
except ImportError:
    ms = mint = F = None

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


@pytest.fixture(scope="module", autouse=True)
def fallbacks():
    needs("mindspore")
    needs("torch")
    import patches.mindspore

    ms.set_context(device_target="CPU", pynative_synchronize=True)
    patches.mindspore.apply("CPU")
    yield
    patches.mindspore.revert()


@pytest.mark.parametrize("graph", [False, True], ids=["pynative", "graph"])
@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_fallback_matches_torch(c, graph):
    run(c, graph)


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
