"""MindSpore CPU fallbacks for mint.nn.functional ops and mint.nn layers vs torch, in PyNative and
graph mode, forward and input gradients; torch edge arguments (ignore_index, label_smoothing,
weights, reductions, padding_idx, approximate, pad modes, ...).

    .venv/bin/pytest tests/patches/test_ms_fallback_nn.py -q
"""

import numpy as np
from ms_parity import Cases, F, fallbacks_fixture, mint, ms, parity_test, randf

X = randf(3, 4, 5)
LOGITS = randf(6, 5, lo=-3, hi=3)
TGT = np.array([1, 0, 4, -100, 2, 4], dtype=np.int64)
TGT_IGN = np.array([1, 3, 3, 0, 2, 3], dtype=np.int64)
W = np.array([0.5, 1.0, 2.0, 1.5, 0.8], dtype=np.float32)
LOGITS_ND = randf(2, 5, 3)  # (N, C, d)
TGT_ND = np.array([[0, 4, 2], [1, -100, 3]], dtype=np.int64)
PROBS = np.random.default_rng(3).dirichlet(np.ones(5), 6).astype(np.float32)
EMB = randf(10, 4)
IDS = np.array([[1, 0, 9], [3, 3, 0]], dtype=np.int64)
IMG = randf(2, 3, 6, 7)
KER = randf(4, 3, 3, 2)
CASES = Cases()


# ---------------------------------------------------------------- losses
@CASES.add(lambda t, x, y: t.nn.functional.cross_entropy(x, y), [LOGITS, TGT])
def ce_default_ignore_index(x, y):
    return F.cross_entropy(x, y)


@CASES.add(lambda t, x, y: t.nn.functional.cross_entropy(x, y, ignore_index=3, label_smoothing=0.1), [LOGITS, TGT_IGN])
def ce_ignore_index_label_smoothing(x, y):
    return F.cross_entropy(x, y, ignore_index=3, label_smoothing=0.1)


@CASES.add(lambda t, x, y, w: t.nn.functional.cross_entropy(x, y, weight=w, label_smoothing=0.2), [LOGITS, TGT, W], no_grad=(2,))
def ce_weight_label_smoothing(x, y, w):
    return F.cross_entropy(x, y, weight=w, label_smoothing=0.2)


@CASES.add(lambda t, x, y: (t.nn.functional.cross_entropy(x, y, reduction="none", label_smoothing=0.1),
                            t.nn.functional.cross_entropy(x, y, reduction="sum")), [LOGITS, TGT])
def ce_reductions(x, y):
    return F.cross_entropy(x, y, reduction="none", label_smoothing=0.1), F.cross_entropy(x, y, reduction="sum")


@CASES.add(lambda t, x, y: t.nn.functional.cross_entropy(x, y, label_smoothing=0.05), [LOGITS_ND, TGT_ND])
def ce_spatial_class_dim_1(x, y):
    return F.cross_entropy(x, y, label_smoothing=0.05)


@CASES.add(lambda t, x, p, w: (t.nn.functional.cross_entropy(x, p), t.nn.functional.cross_entropy(
    x, p, weight=w, label_smoothing=0.1, reduction="sum")), [LOGITS, PROBS, W], no_grad=(2,))
def ce_probability_targets(x, p, w):
    return F.cross_entropy(x, p), F.cross_entropy(x, p, weight=w, label_smoothing=0.1, reduction="sum")


@CASES.add(lambda t, x, y, w: (t.nn.functional.nll_loss(x, y), t.nn.functional.nll_loss(x, y, weight=w, ignore_index=3)),
           [LOGITS, TGT_IGN, W], no_grad=(2,))
def nll_loss(x, y, w):
    return F.nll_loss(x, y), F.nll_loss(x, y, weight=w, ignore_index=3)


@CASES.add(lambda t, x, y: (t.nn.functional.mse_loss(x, y), t.nn.functional.l1_loss(x, y, reduction="sum")), [X, X[::-1].copy()])
def mse_l1(x, y):
    return F.mse_loss(x, y), F.l1_loss(x, y, reduction="sum")


@CASES.add(lambda t, x, p: (t.nn.functional.kl_div(x, p, reduction="batchmean"),
                            t.nn.functional.kl_div(x, p.log(), reduction="sum", log_target=True)),
           [np.log(PROBS[::-1].copy()), PROBS])
def kl_div(x, p):
    return F.kl_div(x, p, reduction="batchmean"), F.kl_div(x, mint.log(p), reduction="sum", log_target=True)


# ---------------------------------------------------------------- activations / normalisation
@CASES.add(lambda t, x: (t.nn.functional.log_softmax(x, dim=-1), t.nn.functional.log_softmax(x, dim=0)), [X])
def log_softmax_dims(x):
    return F.log_softmax(x, dim=-1), F.log_softmax(x, dim=0)


@CASES.add(lambda t, x: t.nn.functional.log_softmax(x, dim=1, dtype=t.float64), [X])
def log_softmax_dtype(x):
    return F.log_softmax(x, dim=1, dtype=ms.float64)


@CASES.add(lambda t, x: (t.nn.functional.gelu(x), t.nn.functional.gelu(x, approximate="tanh")), [X])
def gelu_both(x):
    return F.gelu(x), F.gelu(x, approximate="tanh")


@CASES.add(lambda t, x, w, b: (t.nn.functional.layer_norm(x, (5,), w, b), t.nn.functional.layer_norm(x, (4, 5), eps=1e-3)),
           [X, randf(5), randf(5)])
def layer_norm(x, w, b):
    return F.layer_norm(x, (5,), w, b), F.layer_norm(x, (4, 5), eps=1e-3)


@CASES.add(lambda t, x: (t.nn.functional.normalize(x), t.nn.functional.normalize(x, p=1.0, dim=-1)), [X])
def normalize(x):
    return F.normalize(x), F.normalize(x, p=1.0, dim=-1)


@CASES.add(lambda t, x: (t.nn.functional.leaky_relu(x, 0.2), t.nn.functional.elu(x), t.nn.functional.softplus(x),
                         t.nn.functional.softplus(x * 20, beta=2, threshold=5), t.nn.functional.mish(x)), [X])
def activations(x):
    return F.leaky_relu(x, 0.2), F.elu(x), F.softplus(x), F.softplus(x * 20, beta=2, threshold=5), F.mish(x)


@CASES.add(lambda t, x: (t.nn.functional.dropout(x, 0.0), t.nn.functional.dropout(x, 0.7, training=False)), [X])
def dropout_identities(x):
    return F.dropout(x, 0.0), F.dropout(x, 0.7, training=False)


@CASES.add(lambda t, x: (t.nn.functional.hardtanh(x, -0.5, 1.0), t.nn.functional.relu6(x * 4),
                         t.nn.functional.logsigmoid(x), t.nn.functional.selu(x), t.nn.functional.threshold(x, 0.3, -2.0)),
           [X])
def activations_math_ops(x):
    return (F.hardtanh(x, -0.5, 1.0), F.relu6(x * 4), F.logsigmoid(x), F.selu(x), F.threshold(x, 0.3, -2.0))


@CASES.add(lambda t, x, y: (t.nn.functional.soft_margin_loss(x, y), t.nn.functional.soft_margin_loss(x, y, reduction="none")),
           [X, np.sign(randf(3, 4, 5))], no_grad=(1,))
def soft_margin_loss(x, y):
    return F.soft_margin_loss(x, y), F.soft_margin_loss(x, y, reduction="none")


# ---------------------------------------------------------------- embedding / pad / one_hot / conv
@CASES.add(lambda t, w, i: (t.nn.functional.embedding(i, w), t.nn.functional.embedding(i, w, padding_idx=0),
                            t.nn.functional.embedding(i, w, padding_idx=-1)), [EMB, IDS])
def embedding_padding_idx(w, i):
    return F.embedding(i, w), F.embedding(i, w, padding_idx=0), F.embedding(i, w, padding_idx=-1)


@CASES.add(lambda t, x: (t.nn.functional.pad(x, (1, 2)), t.nn.functional.pad(x, (0, 1, 2, 0), value=-1.5),
                         t.nn.functional.pad(x, (2, 1), mode="reflect"), t.nn.functional.pad(x, (1, 1), mode="replicate"),
                         t.nn.functional.pad(x, (1, 2), mode="circular")), [X])
def pad_modes(x):
    return (F.pad(x, (1, 2)), F.pad(x, (0, 1, 2, 0), value=-1.5), F.pad(x, (2, 1), mode="reflect"),
            F.pad(x, (1, 1), mode="replicate"), F.pad(x, (1, 2), mode="circular"))


@CASES.add(lambda t, i: t.nn.functional.one_hot(i, 10), [IDS])
def one_hot(i):
    return F.one_hot(i, 10)


@CASES.add(lambda t, x, k, b: (t.nn.functional.conv2d(x, k, b), t.nn.functional.conv2d(x, k, None, 2, (1, 2), 1)),
           [IMG, KER, randf(4)], tol=2e-6)
def conv2d(x, k, b):
    return F.conv2d(x, k, b), F.conv2d(x, k, None, 2, (1, 2), 1)


@CASES.add(lambda t, x, k: t.nn.functional.conv1d(x, k, padding=1, stride=2), [X[:, :3], randf(2, 3, 3)], tol=2e-6)
def conv1d(x, k):
    return F.conv1d(x, k, padding=1, stride=2)


fallbacks = fallbacks_fixture()
test_fallback_matches_torch = parity_test(CASES)


def test_dropout_training_keeps_expectation():
    x = ms.Tensor(np.ones((200, 100), np.float32))
    y = F.dropout(x, 0.3).asnumpy()
    kept = y != 0
    assert 0.65 < kept.mean() < 0.75
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    np.testing.assert_array_equal(F.dropout(x, 1.0).asnumpy(), 0)
