"""MindSpore CPU fallbacks for mint.split and pooling (max_pool2d, avg_pool1d/2d/3d,
adaptive_avg_pool1d/2d/3d, adaptive_max_pool1d) vs torch, in PyNative and graph mode (mindspore.jit), forward and input
gradients; torch's stride default, padding, dilation, ceil_mode, return_indices, count_include_pad,
divisor_override, adaptive sizes with None, ties, and split views feeding attention (where
mint.split's own backward is wrong in PyNative).

    .venv/bin/pytest tests/patches/test_ms_fallback_split_pool.py -q
"""

import numpy as np
import pytest
from ms_parity import Cases, F, fallbacks_fixture, mint, ms, parity_test, randf

X = randf(3, 7, 5)
QKV = randf(2, 6, 24)  # (B, T, 3C), C = 8, 2 heads
SEQ = randf(2, 3, 9)
SEQ_TIES = np.round(SEQ)
VOL = randf(2, 3, 5, 6, 7)
IMG = randf(2, 3, 7, 9)
IMG5 = randf(1, 2, 5, 5)  # ceil_mode case where torch drops the window that starts in the padding
TIES = np.round(randf(2, 3, 7, 9)).astype(np.float32)  # many equal maxima per window
CASES = Cases()


# ---------------------------------------------------------------- split
@CASES.add(lambda t, x: t.split(x, 3, dim=1), [X])
def split_int_remainder(x):
    return mint.split(x, 3, dim=1)


@CASES.add(lambda t, x: (*t.split(x, [1, 4, 2], dim=-2), *t.split(x, (2, 3), -1), *t.split(x, 2)), [X])
def split_sizes_negative_dim(x):
    return (*mint.split(x, [1, 4, 2], dim=-2), *mint.split(x, (2, 3), -1), *mint.split(x, 2))


@CASES.add(lambda t, x: (*t.split(x, 8, dim=1), *t.split(x, [0, 3, 0, 2], dim=2)), [X])
def split_size_larger_than_dim_and_empty_pieces(x):
    return (*mint.split(x, 8, dim=1), *mint.split(x, [0, 3, 0, 2], dim=2))


def _t_attention(t, x):
    q, k, v = x.split(8, dim=2)  # 3 x (B, T, C)
    q, k, v = (a.view(2, 6, 2, 4).transpose(1, 2) for a in (q, k, v))  # (B, H, T, hd)
    p = t.softmax(q @ k.transpose(-2, -1) * 0.5, dim=-1)
    return (p @ v).transpose(1, 2).reshape(2, 6, 8)


@CASES.add(_t_attention, [QKV])
def split_views_feed_attention(x):
    q, k, v = mint.split(x, 8, dim=2)
    q = mint.transpose(q.view(2, 6, 2, 4), 1, 2)
    k = mint.transpose(k.view(2, 6, 2, 4), 1, 2)
    v = mint.transpose(v.view(2, 6, 2, 4), 1, 2)
    p = F.softmax(mint.matmul(q, mint.transpose(k, -2, -1)) * 0.5, dim=-1)
    return mint.transpose(mint.matmul(p, v), 1, 2).reshape(2, 6, 8)


# ---------------------------------------------------------------- max_pool2d
@CASES.add(lambda t, x: (t.nn.functional.max_pool2d(x, 2), t.nn.functional.max_pool2d(x, 3, 2, 1),
                         t.nn.functional.max_pool2d(x, (2, 3), (1, 2), (1, 0))), [IMG])
def max_pool2d_stride_padding(x):
    return F.max_pool2d(x, 2), F.max_pool2d(x, 3, 2, 1), F.max_pool2d(x, (2, 3), (1, 2), (1, 0))


@CASES.add(lambda t, x: (t.nn.functional.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True),
                         t.nn.functional.max_pool2d(x, 2, ceil_mode=True),
                         t.nn.functional.max_pool2d(x, 3, stride=2, dilation=2, padding=1),
                         t.nn.functional.max_pool2d(x, 3, stride=1, dilation=(1, 2))), [IMG])
def max_pool2d_ceil_dilation(x):
    return (F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True), F.max_pool2d(x, 2, ceil_mode=True),
            F.max_pool2d(x, 3, stride=2, dilation=2, padding=1), F.max_pool2d(x, 3, stride=1, dilation=(1, 2)))


@CASES.add(lambda t, x: t.nn.functional.max_pool2d(x, 3, 3, 1, ceil_mode=True), [IMG5])
def max_pool2d_ceil_window_in_padding(x):
    return F.max_pool2d(x, 3, 3, 1, ceil_mode=True)


@CASES.add(lambda t, x: (*t.nn.functional.max_pool2d(x, 2, return_indices=True),
                         *t.nn.functional.max_pool2d(x, 3, 2, 1, ceil_mode=True, return_indices=True)), [TIES])
def max_pool2d_ties_and_indices(x):
    return (*F.max_pool2d(x, 2, return_indices=True), *F.max_pool2d(x, 3, 2, 1, ceil_mode=True, return_indices=True))


@CASES.add(lambda t, x: t.nn.functional.max_pool2d(x, 2), [IMG[0]])
def max_pool2d_unbatched(x):
    return F.max_pool2d(x, 2)


# ---------------------------------------------------------------- avg_pool2d
@CASES.add(lambda t, x: (t.nn.functional.avg_pool2d(x, 2), t.nn.functional.avg_pool2d(x, 3, 2, 1),
                         t.nn.functional.avg_pool2d(x, (2, 3), (1, 2), (1, 0)),
                         t.nn.functional.avg_pool2d(x, 3, 2, 1, count_include_pad=False)), [IMG])
def avg_pool2d_stride_padding(x):
    return (F.avg_pool2d(x, 2), F.avg_pool2d(x, 3, 2, 1), F.avg_pool2d(x, (2, 3), (1, 2), (1, 0)),
            F.avg_pool2d(x, 3, 2, 1, count_include_pad=False))


@CASES.add(lambda t, x: (t.nn.functional.avg_pool2d(x, 3, 2, 1, ceil_mode=True),
                         t.nn.functional.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
                         t.nn.functional.avg_pool2d(x, 2, ceil_mode=True),
                         t.nn.functional.avg_pool2d(x, 3, 2, 1, divisor_override=5),
                         t.nn.functional.avg_pool2d(x, 3, 2, 1, ceil_mode=True, divisor_override=2)), [IMG])
def avg_pool2d_ceil_divisor(x):
    return (F.avg_pool2d(x, 3, 2, 1, ceil_mode=True), F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
            F.avg_pool2d(x, 2, ceil_mode=True), F.avg_pool2d(x, 3, 2, 1, divisor_override=5),
            F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, divisor_override=2))


@CASES.add(lambda t, x: (t.nn.functional.avg_pool2d(x, 3, 3, 1, ceil_mode=True),
                         t.nn.functional.avg_pool2d(x[0], 2)), [IMG5])
def avg_pool2d_ceil_window_in_padding_unbatched(x):
    return F.avg_pool2d(x, 3, 3, 1, ceil_mode=True), F.avg_pool2d(x[0], 2)


# ---------------------------------------------------------------- adaptive_avg_pool2d
@CASES.add(lambda t, x: (t.nn.functional.adaptive_avg_pool2d(x, 1), t.nn.functional.adaptive_avg_pool2d(x, 3),
                         t.nn.functional.adaptive_avg_pool2d(x, (4, 5)), t.nn.functional.adaptive_avg_pool2d(x, (7, 9))),
           [IMG])
def adaptive_avg_pool2d_sizes(x):
    return (F.adaptive_avg_pool2d(x, 1), F.adaptive_avg_pool2d(x, 3), F.adaptive_avg_pool2d(x, (4, 5)),
            F.adaptive_avg_pool2d(x, (7, 9)))


@CASES.add(lambda t, x: (t.nn.functional.adaptive_avg_pool2d(x, (None, 4)), t.nn.functional.adaptive_avg_pool2d(x, (5, None)),
                         t.nn.functional.adaptive_avg_pool2d(x[0], 2)), [IMG])
def adaptive_avg_pool2d_none_unbatched(x):
    return F.adaptive_avg_pool2d(x, (None, 4)), F.adaptive_avg_pool2d(x, (5, None)), F.adaptive_avg_pool2d(x[0], 2)


# ---------------------------------------------------------------- 1-D and 3-D
@CASES.add(lambda t, x: (t.nn.functional.avg_pool1d(x, 2), t.nn.functional.avg_pool1d(x, 3, 2, 1, count_include_pad=False),
                         t.nn.functional.avg_pool1d(x, 4, 3, 1, ceil_mode=True), t.nn.functional.avg_pool1d(x[0], 2)), [SEQ])
def avg_pool1d(x):
    return (F.avg_pool1d(x, 2), F.avg_pool1d(x, 3, 2, 1, count_include_pad=False), F.avg_pool1d(x, 4, 3, 1, ceil_mode=True),
            F.avg_pool1d(x[0], 2))


@CASES.add(lambda t, x: (t.nn.functional.adaptive_avg_pool1d(x, 4), t.nn.functional.adaptive_avg_pool1d(x, 1),
                         t.nn.functional.adaptive_avg_pool1d(x[0], 5)), [SEQ])
def adaptive_avg_pool1d(x):
    return F.adaptive_avg_pool1d(x, 4), F.adaptive_avg_pool1d(x, 1), F.adaptive_avg_pool1d(x[0], 5)


@CASES.add(lambda t, x: (*t.nn.functional.adaptive_max_pool1d(x, 4, return_indices=True),
                         t.nn.functional.adaptive_max_pool1d(x, 9), t.nn.functional.adaptive_max_pool1d(x[0], 5)), [SEQ_TIES])
def adaptive_max_pool1d_ties(x):
    return (*F.adaptive_max_pool1d(x, 4, return_indices=True), F.adaptive_max_pool1d(x, 9),
            F.adaptive_max_pool1d(x[0], 5))


@CASES.add(lambda t, x: (t.nn.functional.avg_pool3d(x, 2), t.nn.functional.avg_pool3d(x, (2, 3, 2), (1, 2, 2), (1, 0, 1)),
                         t.nn.functional.avg_pool3d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
                         t.nn.functional.avg_pool3d(x, 3, 2, 1, ceil_mode=True, divisor_override=2),
                         t.nn.functional.avg_pool3d(x[0], 2)), [VOL])
def avg_pool3d(x):
    return (F.avg_pool3d(x, 2), F.avg_pool3d(x, (2, 3, 2), (1, 2, 2), (1, 0, 1)),
            F.avg_pool3d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
            F.avg_pool3d(x, 3, 2, 1, ceil_mode=True, divisor_override=2), F.avg_pool3d(x[0], 2))


@CASES.add(lambda t, x: (t.nn.functional.adaptive_avg_pool3d(x, 1), t.nn.functional.adaptive_avg_pool3d(x, (2, 4, 3)),
                         t.nn.functional.adaptive_avg_pool3d(x, (None, 4, None)), t.nn.functional.adaptive_avg_pool3d(x[0], 2)),
           [VOL])
def adaptive_avg_pool3d(x):
    return (F.adaptive_avg_pool3d(x, 1), F.adaptive_avg_pool3d(x, (2, 4, 3)), F.adaptive_avg_pool3d(x, (None, 4, None)),
            F.adaptive_avg_pool3d(x[0], 2))


def _t_unpool(t, x):
    out, idx = t.nn.functional.max_pool2d(x, 2, return_indices=True)
    out3, idx3 = t.nn.functional.max_pool2d(x, 3, 2, 1, return_indices=True)
    return (t.nn.functional.max_unpool2d(out, idx, 2, output_size=x.shape[-2:]), t.nn.functional.max_unpool2d(out, idx, 2),
            t.nn.functional.max_unpool2d(out3, idx3, 3, 2, 1, output_size=(6, 8)),
            t.nn.functional.max_unpool2d(out[0], idx[0], (2, 2), output_size=(6, 8)))


@CASES.add(_t_unpool, [IMG[:, :, :6, :8].copy()])
def max_unpool2d(x):
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    out3, idx3 = F.max_pool2d(x, 3, 2, 1, return_indices=True)
    return (F.max_unpool2d(out, idx, 2, output_size=x.shape[-2:]), F.max_unpool2d(out, idx, 2),
            F.max_unpool2d(out3, idx3, 3, 2, 1, output_size=(6, 8)), F.max_unpool2d(out[0], idx[0], (2, 2), output_size=(6, 8)))


fallbacks = fallbacks_fixture("mint.split", "mint.nn.functional.max_pool2d")
test_fallback_matches_torch = parity_test(CASES)


def test_split_rejects_bad_sizes():
    x = ms.Tensor(X)
    with pytest.raises(ValueError, match="do not sum to 7"):
        mint.split(x, [3, 3], dim=1)
    with pytest.raises(ValueError, match="must be positive"):
        mint.split(x, 0, dim=1)


def test_pooling_rejects_bad_rank():
    with pytest.raises(ValueError, match="max_pool2d: expected a 3-D .* or 4-D .* got 5-D"):
        F.max_pool2d(ms.Tensor(VOL), 2)
    with pytest.raises(ValueError, match="avg_pool3d: expected a 4-D .* or 5-D .* got 3-D"):
        F.avg_pool3d(ms.Tensor(SEQ), 2)
