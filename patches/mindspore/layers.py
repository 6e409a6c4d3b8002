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


# ---- Conv2d/Conv3d(stride=[2]): torch takes a 1-element size for every dim ----------------------
# torch's Conv2d/Conv3d run stride, padding and dilation through _pair/_triple, which keep a
# 1-element list as a 1-tuple, and F.conv2d/conv3d then use that one value for every spatial dim.
# EfficientNet passes stride=[s] (efficientnet_pytorch/utils.py `stride=[int(options['s'][0])]`).
# mint.nn.Conv2d/Conv3d reject it at __init__ ("When expanding an sequence to tuple, input sequence
# dimension must be 2, but got [1]"); mint.nn.Conv1d, ConvTranspose2d and the pooling layers accept
# it (measured). The wrapper passes such a value on as the plain int; the layer then stores it as
# MindSpore does, expanded ((2, 2) where torch keeps (2,)); the convolution is the same.

ONE_FOR_ALL = ("stride", "padding", "dilation")  # kernel_size=[k] gives torch a 3-D weight: not accepted either


def conv_sizes_wrapper(init):
    """wrapper(Conv.__init__) -> __init__ taking torch's 1-element stride/padding/dilation."""
    import functools
    import inspect

    names = [n for n in inspect.signature(init).parameters][1:]  # after self
    where = {n: names.index(n) for n in ONE_FOR_ALL if n in names}

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        args = list(args)
        for name, i in where.items():
            if i < len(args):
                args[i] = _one(args[i])
            elif name in kwargs:
                kwargs[name] = _one(kwargs[name])
        init(self, *args, **kwargs)

    return __init__


def _one(v):
    return v[0] if isinstance(v, (list, tuple)) and len(v) == 1 and isinstance(v[0], int) else v
