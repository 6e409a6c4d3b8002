"""Convolution-family fallbacks for mint.nn.functional.conv_transpose2d, conv3d, unfold and fold,
which have no CPU kernel in MindSpore 2.10 (ConvTranspose2D, Conv3DExt, Im2ColExt, Col2ImExt),
with torch semantics: torch's weight layouts (conv_transpose2d: (C_in, C_out/groups, kH, kW);
conv3d: (C_out, C_in/groups, kD, kH, kW)), int or tuple stride/padding/dilation, groups,
output_padding, conv3d's padding="same"/"valid" (asymmetric for even kernels, as torch), bias,
unbatched input.

Built from legacy CPU kernels that match torch to float rounding, gradients included (measured,
tests/patches/test_ms_fallback_conv.py): Conv2DBackpropInput (a transposed convolution is the
input gradient of a convolution), Conv3D (takes the 6 pads), ops.unfold (Im2Col), ops.fold (Col2Im).
Graph-mode safe.
"""

from __future__ import annotations

import mindspore as ms
from mindspore import ops
from mindspore.ops import operations as P

from patches.mindspore.args import check_rank as _check_rank
from patches.mindspore.args import ntuple as _ntuple

_Conv3D = P.Conv3D
_unfold = ops.unfold
_fold = ops.fold
_expand_dims = ops.expand_dims
_squeeze = ops.squeeze
_reshape = ops.reshape
_Conv2DBackpropInput = P.Conv2DBackpropInput


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """torch.nn.functional.conv_transpose2d; weight (C_in, C_out/groups, kH, kW)."""
    _check_rank(input, "conv_transpose2d", (3, 4))
    s, p, op, d = (_ntuple(a, 2) for a in (stride, padding, output_padding, dilation))
    x = input if input.ndim == 4 else _expand_dims(input, 0)  # (N, C_in, H, W)
    n, c_in, h, w = x.shape
    k = (weight.shape[2], weight.shape[3])
    c_out = weight.shape[1] * groups
    size = (n, c_out, (h - 1) * s[0] - 2 * p[0] + d[0] * (k[0] - 1) + op[0] + 1,
            (w - 1) * s[1] - 2 * p[1] + d[1] * (k[1] - 1) + op[1] + 1)
    # the gradient w.r.t. the input of a conv2d (C_out -> C_in) with this weight
    prim = _Conv2DBackpropInput(c_in, k, pad_mode="pad", pad=(p[0], p[0], p[1], p[1]), stride=s, dilation=d,
                                group=groups)
    out = prim(x, weight, size)  # (N, C_out, H_out, W_out)
    if bias is not None:
        out = out + _reshape(bias, (1, -1, 1, 1))
    if input.ndim == 3:
        out = _squeeze(out, 0)
    return out


def _same_padding(weight, dilation):
    """torch padding='same': total d*(k-1) per dim, the extra one (odd totals) on the far side."""
    pads = []
    for k in range(3):
        total = dilation[k] * (weight.shape[2 + k] - 1)
        pads += [total // 2, total - total // 2]
    return tuple(pads)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """torch.nn.functional.conv3d; weight (C_out, C_in/groups, kD, kH, kW)."""
    _check_rank(input, "conv3d", (4, 5))
    s, d = _ntuple(stride, 3), _ntuple(dilation, 3)
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0, 0, 0, 0, 0, 0)
        elif padding == "same":
            pads = _same_padding(weight, d)
        else:
            raise ValueError(f"conv3d: padding must be 'valid', 'same' or ints, got {padding!r}")
    else:
        p = _ntuple(padding, 3)
        pads = (p[0], p[0], p[1], p[1], p[2], p[2])  # (head, tail, top, bottom, left, right)
    x = input if input.ndim == 5 else _expand_dims(input, 0)  # (N, C_in, D, H, W)
    conv = _Conv3D(weight.shape[0], tuple(weight.shape[2:]), 1, "pad", pads, s, d, groups, "NCDHW")
    out = conv(x, weight)
    if bias is not None:
        out = out + _reshape(bias, (1, -1, 1, 1, 1))
    if input.ndim == 4:
        out = _squeeze(out, 0)
    return out


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """im2col: (N, C, H, W) -> (N, C*kH*kW, L); (C, H, W) -> (C*kH*kW, L)."""
    _check_rank(input, "unfold", (3, 4))
    x = input if input.ndim == 4 else _expand_dims(input, 0)
    out = _unfold(x, _ntuple(kernel_size, 2), _ntuple(dilation, 2), _ntuple(padding, 2), _ntuple(stride, 2))
    if input.ndim == 3:
        out = _squeeze(out, 0)
    return out


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im (sums overlapping blocks): (N, C*kH*kW, L) -> (N, C, H, W); 2-D input unbatched."""
    _check_rank(input, "fold", (2, 3))
    x = input if input.ndim == 3 else _expand_dims(input, 0)
    size = ms.Tensor(_ntuple(output_size, 2), ms.int32)  # Col2Im takes the size as a tensor
    out = _fold(x, size, _ntuple(kernel_size, 2), _ntuple(dilation, 2), _ntuple(padding, 2),
                _ntuple(stride, 2))
    if input.ndim == 2:
        out = _squeeze(out, 0)
    return out
