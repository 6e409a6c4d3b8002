"""MindSpore CPU fallbacks for conv_transpose2d, conv3d, unfold, fold, 5-D reflect padding and the
upsampling/interpolate paths vs torch, in PyNative and graph mode (mindspore.jit), forward and input
(and weight) gradients; stride, padding, output_padding, dilation, groups, bias, padding="same"
with even kernels, unbatched inputs.

    .venv/bin/pytest tests/patches/test_ms_fallback_conv.py -q
"""

import numpy as np
from ms_parity import Cases, F, fallbacks_fixture, mint, ms, parity_test, randf

IMG = randf(2, 4, 5, 6)
WT = randf(4, 3, 3, 3)  # conv_transpose2d (C_in, C_out/groups, kH, kW)
WT_G = randf(4, 3, 3, 2)  # groups=2 -> C_out = 6
B6 = randf(6)
VOL = randf(2, 4, 5, 6, 7)
W3 = randf(3, 4, 3, 3, 3)
W3_G = randf(4, 2, 2, 3, 2)  # groups=2, even kernels
B4 = randf(4)
CASES = Cases()


# ---------------------------------------------------------------- conv_transpose2d
@CASES.add(lambda t, x, w: (t.nn.functional.conv_transpose2d(x, w), t.nn.functional.conv_transpose2d(x, w, stride=2),
                            t.nn.functional.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
                            t.nn.functional.conv_transpose2d(x, w, stride=(2, 3), padding=(1, 0), output_padding=(1, 2),
                                                             dilation=(2, 1))), [IMG, WT])
def conv_transpose2d_stride_padding_output_padding(x, w):
    return (F.conv_transpose2d(x, w), F.conv_transpose2d(x, w, stride=2),
            F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
            F.conv_transpose2d(x, w, stride=(2, 3), padding=(1, 0), output_padding=(1, 2), dilation=(2, 1)))


@CASES.add(lambda t, x, w, b: (t.nn.functional.conv_transpose2d(x, w, b, 2, 1, 1, 2, 2),
                               t.nn.functional.conv_transpose2d(x[0], w, b, groups=2)), [IMG, WT_G, B6])
def conv_transpose2d_groups_bias_unbatched(x, w, b):
    return F.conv_transpose2d(x, w, b, 2, 1, 1, 2, 2), F.conv_transpose2d(x[0], w, b, groups=2)


# ---------------------------------------------------------------- conv3d
@CASES.add(lambda t, x, w: (t.nn.functional.conv3d(x, w), t.nn.functional.conv3d(x, w, stride=2, padding=1),
                            t.nn.functional.conv3d(x, w, stride=(1, 2, 3), padding=(1, 0, 2), dilation=(1, 2, 1)),
                            t.nn.functional.conv3d(x[1], w, padding=1)), [VOL, W3])
def conv3d_stride_padding_dilation_unbatched(x, w):
    return (F.conv3d(x, w), F.conv3d(x, w, stride=2, padding=1),
            F.conv3d(x, w, stride=(1, 2, 3), padding=(1, 0, 2), dilation=(1, 2, 1)), F.conv3d(x[1], w, padding=1))


@CASES.add(lambda t, x, w, b: (t.nn.functional.conv3d(x, w, b, groups=2), t.nn.functional.conv3d(x, w, b, padding="same", groups=2),
                               t.nn.functional.conv3d(x, w, None, 1, "same", (2, 1, 3), 2),
                               t.nn.functional.conv3d(x, w, b, padding="valid", groups=2)), [VOL, W3_G, B4])
def conv3d_groups_bias_same_valid(x, w, b):
    return (F.conv3d(x, w, b, groups=2), F.conv3d(x, w, b, padding="same", groups=2),
            F.conv3d(x, w, None, 1, "same", (2, 1, 3), 2), F.conv3d(x, w, b, padding="valid", groups=2))


# ---------------------------------------------------------------- unfold / fold
@CASES.add(lambda t, x: (t.nn.functional.unfold(x, 2), t.nn.functional.unfold(x, (2, 3), stride=2),
                         t.nn.functional.unfold(x, 3, dilation=2, padding=1, stride=(1, 2)), t.nn.functional.unfold(x[0], 2)),
           [IMG])
def unfold_kernel_stride_dilation_padding_unbatched(x):
    return (F.unfold(x, 2), F.unfold(x, (2, 3), stride=2), F.unfold(x, 3, dilation=2, padding=1, stride=(1, 2)),
            F.unfold(x[0], 2))


def _t_fold(t, c):
    f = t.nn.functional.fold
    return f(c, (5, 5), (2, 3)), f(c, (5, 7), (2, 3), stride=(1, 2)), f(c, (4, 5), (2, 3), (2, 1), (1, 0)), f(c[0], 5, (2, 3))


@CASES.add(_t_fold, [randf(2, 2 * 2 * 3, 12)])  # C = 2, kernel (2, 3), 12 blocks in each case
def fold_stride_dilation_padding_unbatched(c):
    return F.fold(c, (5, 5), (2, 3)), F.fold(c, (5, 7), (2, 3), stride=(1, 2)), F.fold(c, (4, 5), (2, 3), (2, 1), (1, 0)), \
        F.fold(c[0], 5, (2, 3))



# ---------------------------------------------------------------- 3-D reflect padding (PadV3: 4-D at most)
@CASES.add(lambda t, x: (t.nn.functional.pad(x, (1, 2, 0, 1, 2, 1), mode="reflect"),
                         t.nn.functional.pad(x[0], (2, 0, 1, 1, 0, 3), mode="reflect"),
                         t.nn.functional.pad(x[0, 0], (1, 1, 2, 2), mode="reflect")), [VOL])
def pad_reflect_3d_batched_unbatched(x):
    return (F.pad(x, (1, 2, 0, 1, 2, 1), mode="reflect"), F.pad(x[0], (2, 0, 1, 1, 0, 3), mode="reflect"),
            F.pad(x[0, 0], (1, 1, 2, 2), mode="reflect"))


# ---------------------------------------------------------------- interpolate (linear/bilinear/bicubic fallback)
def _t_interp(t, x, s):
    f = t.nn.functional.interpolate
    return (f(x, scale_factor=2.0, mode="bilinear", align_corners=True), f(x, size=(9, 4), mode="bilinear"),
            f(x, scale_factor=(1.5, 0.7), mode="bilinear"),
            f(x, scale_factor=1.7, mode="bilinear", recompute_scale_factor=True),
            f(x, size=(1, 3), mode="bilinear", align_corners=True),
            f(x, scale_factor=1.5, mode="bicubic"), f(x, size=(8, 11), mode="bicubic", align_corners=True),
            f(s, scale_factor=2.5, mode="linear"), f(s, size=7, mode="linear", align_corners=True),
            f(x, scale_factor=1.5, mode="nearest"))


@CASES.add(_t_interp, [IMG, randf(2, 3, 5)])
def interpolate_linear_bilinear_bicubic_scales(x, s):
    f = F.interpolate
    return (f(x, scale_factor=2.0, mode="bilinear", align_corners=True), f(x, size=(9, 4), mode="bilinear"),
            f(x, scale_factor=(1.5, 0.7), mode="bilinear"),
            f(x, scale_factor=1.7, mode="bilinear", recompute_scale_factor=True),
            f(x, size=(1, 3), mode="bilinear", align_corners=True),
            f(x, scale_factor=1.5, mode="bicubic"), f(x, size=(8, 11), mode="bicubic", align_corners=True),
            f(s, scale_factor=2.5, mode="linear"), f(s, size=7, mode="linear", align_corners=True),
            f(x, scale_factor=1.5, mode="nearest"))


fallbacks = fallbacks_fixture("mint.nn.functional.conv_transpose2d", "mint.nn.functional.unfold")
test_fallback_matches_torch = parity_test(CASES)


def test_conv_transpose2d_layer_output_size_and_torch_weight_layout():
    import torch

    torch.manual_seed(0)
    t_layer = torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2)
    m_layer = mint.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2)
    sd = t_layer.state_dict()
    assert {n: tuple(p.shape) for n, p in m_layer.parameters_and_names()} == {k: tuple(v.shape) for k, v in sd.items()}
    for n, p in m_layer.parameters_and_names():
        p.set_data(ms.Tensor(sd[n].numpy()))
    x = randf(2, 4, 5, 6)
    for size in ((10, 12), (9, 11), (2, 6, 10, 11)):  # every output_padding torch allows here, and the N, C form
        got = m_layer(ms.Tensor(x), output_size=size).asnumpy()
        want = t_layer(torch.tensor(x), output_size=size).detach().numpy()
        assert got.shape == want.shape and np.abs(got - want).max() <= 1e-5 * np.abs(want).max(), size
