"""`construct` replacements for mint.nn layers whose construct calls a kernel directly.

Most mint.nn layers reach their functional through a module lookup (mint.nn.Embedding calls
`ops.embedding`, LayerNorm `ops.layer_norm`, CrossEntropyLoss a module-level `cross_entropy`):
the functional fallback plus the manager's alias switching already fixes those. The layers here
call a primitive or an instance attribute bound at __init__, so their class `construct` is
replaced instead. Parameters (`weight`, `bias`) and their names are untouched, so torch
state_dict keys still match. Class-attribute patches are honoured in graph mode too.
"""

from __future__ import annotations

from mindspore import mint


def dropout_construct(self, input):
    return mint.nn.functional.dropout(input, self.p, self.training)


def conv2d_construct(self, input):
    if self.padding_mode != "zeros":
        input = mint.nn.functional.pad(input, self._reversed_padding, mode=self.padding_mode)
        return mint.nn.functional.conv2d(input, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
    return mint.nn.functional.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                                     self.groups)


def conv1d_construct(self, input):
    if self.padding_mode != "zeros":
        input = mint.nn.functional.pad(input, self._reversed_padding, mode=self.padding_mode)
        return mint.nn.functional.conv1d(input, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
    return mint.nn.functional.conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                                     self.groups)


def mse_loss_construct(self, input, target):
    return mint.nn.functional.mse_loss(input, target, self.reduction)


def l1_loss_construct(self, input, target):
    return mint.nn.functional.l1_loss(input, target, self.reduction)


def log_softmax_construct(self, x):
    return mint.nn.functional.log_softmax(x, dim=self.dim)


def hardtanh_construct(self, input):
    return mint.nn.functional.hardtanh(input, self.min_val, self.max_val)


def max_pool2d_construct(self, input):
    return mint.nn.functional.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                                         self.ceil_mode, self.return_indices)


def avg_pool2d_construct(self, input):
    return mint.nn.functional.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                         self.count_include_pad, self.divisor_override)


def avg_pool1d_construct(self, input):
    return mint.nn.functional.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                         self.count_include_pad)


def avg_pool3d_construct(self, input):
    return mint.nn.functional.avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                         self.count_include_pad, self.divisor_override)


def conv3d_construct(self, input):
    if self.padding_mode != "zeros":
        input = mint.nn.functional.pad(input, self._reversed_padding, mode=self.padding_mode)
        return mint.nn.functional.conv3d(input, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
    return mint.nn.functional.conv3d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                                     self.groups)


def unfold_construct(self, input):
    return mint.nn.functional.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)


def fold_construct(self, input):
    return mint.nn.functional.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)


def dropout2d_construct(self, input):
    return mint.nn.functional.dropout2d(input, self.p, self.training)


def upsampling_nearest2d_construct(self, input):
    return mint.nn.functional.interpolate(input, self.size, self.scale_factor, "nearest")


def upsampling_bilinear2d_construct(self, input):
    # torch's UpsamplingBilinear2d is interpolate(..., mode="bilinear", align_corners=True)
    return mint.nn.functional.interpolate(input, self.size, self.scale_factor, "bilinear", True)
