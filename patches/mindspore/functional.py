"""Fallbacks for mint.nn.functional ops without a CPU kernel, with torch semantics.

cross_entropy follows aten's LossNLL.cpp exactly: class-index or probability targets, class dim 1,
weight, ignore_index, reduction and label_smoothing (the smoothing term is normalised by the same
weight sum as the NLL term). embedding keeps padding_idx (no gradient reaches that row).
Built from ops with CPU kernels; graph-mode safe.
"""

from __future__ import annotations

import mindspore as ms
from mindspore import ops

from patches.mindspore.args import ntuple as _ntuple
from patches.mindspore.nn_extra import reflect_pad as _reflect_pad

_cast = ops.cast
_gather = ops.gather
_gather_d = ops.gather_elements
_amax = ops.amax
_where = ops.where
_stop_gradient = ops.stop_gradient
_reduce_sum = ops.sum
_mean = ops.mean
_sqrt = ops.sqrt
_exp = ops.exp
_log1p = ops.log1p
_tanh = ops.tanh
_maximum = ops.maximum
_minimum = ops.minimum
_gelu = ops.gelu
_dropout = ops.dropout
_pad = ops.pad
_one_hot = ops.one_hot
_expand_dims = ops.expand_dims
_reshape = ops.reshape
_abs = ops.abs
_xlogy = ops.xlogy
_conv2d = ops.conv2d
_LayerNorm = ops.LayerNorm


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False):
    if max_norm is not None or scale_grad_by_freq:
        raise NotImplementedError("CPU embedding fallback: max_norm and scale_grad_by_freq are not supported")
    out = _gather(weight, input, 0)  # (*idx.shape, C)
    if padding_idx is None:
        return out
    if padding_idx < 0:
        padding_idx = weight.shape[0] + padding_idx
    keep = _expand_dims(input != padding_idx, -1)
    return _where(keep, out, _stop_gradient(out))  # same values, no gradient into the padding row


def log_softmax(input, dim=None, *, dtype=None):
    if dtype is not None:
        input = _cast(input, dtype)
    if dim is None:  # torch's legacy implicit dim
        dim = 0 if input.ndim in (0, 1, 3) else 1
    return _log_softmax_exact(input, dim)


def _log_softmax_exact(x, dim):
    """x - max - log(sum(exp(x - max))), torch's own CPU formula. Measured: MindSpore's LogSoftmax
    kernel differs from torch by up to 2.9e-6 relative L2 (also in float64); this matches to ~1e-7."""
    shifted = x - _stop_gradient(_amax(x, dim, True))
    return shifted - ops.log(_reduce_sum(_exp(shifted), dim, keepdim=True))


def _reduce(loss, reduction):
    if reduction == "mean":
        return _mean(loss)
    if reduction == "sum":
        return _reduce_sum(loss)
    return loss


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    class_dim = 0 if input.ndim == 1 else 1
    n_classes = input.shape[class_dim]
    logp = _log_softmax_exact(input, class_dim)  # (N, C, ...)
    wshape = [1] * input.ndim
    wshape[class_dim] = n_classes
    if target.dtype in (ms.float16, ms.float32, ms.float64, ms.bfloat16):
        # probability targets: reduction 'mean' divides by the number of samples, not weights
        if label_smoothing > 0.0:
            target = target * (1.0 - label_smoothing) + label_smoothing / n_classes
        term = logp * target if weight is None else logp * target * _reshape(weight, tuple(wshape))
        loss = -_reduce_sum(term, class_dim)
        if reduction == "mean":
            return _reduce_sum(loss) / (input.size // n_classes)
        return _reduce(loss, reduction)

    ignored = target == ignore_index
    safe_t = _where(ignored, ops.zeros_like(target), target)
    picked = _gather_d(logp, class_dim, _expand_dims(safe_t, class_dim))  # (N, 1, ...)
    picked = ops.squeeze(picked, class_dim)
    zero = ops.zeros_like(picked)
    w_t = ops.ones_like(picked) if weight is None else _gather(weight, safe_t, 0)
    w_t = _where(ignored, zero, w_t)
    nll = -picked * w_t
    denom = _reduce_sum(w_t)  # 'mean' divides by the summed target weights (torch)
    nll_red = _reduce_sum(nll) / denom if reduction == "mean" else _reduce(nll, reduction)
    if label_smoothing <= 0.0:
        return nll_red
    smooth = logp if weight is None else logp * _reshape(weight, tuple(wshape))
    smooth = _where(ignored, zero, -_reduce_sum(smooth, class_dim))
    smooth_red = _reduce_sum(smooth) / denom if reduction == "mean" else _reduce(smooth, reduction)
    return (1.0 - label_smoothing) * nll_red + smooth_red * (label_smoothing / n_classes)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    class_dim = 0 if input.ndim == 1 else 1
    ignored = target == ignore_index
    safe_t = _where(ignored, ops.zeros_like(target), target)
    picked = ops.squeeze(_gather_d(input, class_dim, _expand_dims(safe_t, class_dim)), class_dim)
    w_t = ops.ones_like(picked) if weight is None else _gather(weight, safe_t, 0)
    w_t = _where(ignored, ops.zeros_like(picked), w_t)
    loss = -picked * w_t
    if reduction == "mean":
        return _reduce_sum(loss) / _reduce_sum(w_t)
    return _reduce(loss, reduction)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    axis = input.ndim - len(normalized_shape)
    if weight is None:
        weight = ops.ones(tuple(normalized_shape), input.dtype)
    if bias is None:
        bias = ops.zeros(tuple(normalized_shape), input.dtype)
    return _LayerNorm(axis, axis, eps)(input, weight, bias)[0]


def gelu(input, approximate="none"):
    return _gelu(input, approximate=approximate)


def dropout(input, p=0.5, training=True, inplace=False):
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0
    return _dropout(input, p, True)


def pad(input, pad, mode="constant", value=None):
    if mode == "constant" and _negative(pad):  # a crop: slice it off, then pad what is left to pad.
        # MindSpore 2.10 CPU's pad with a negative entry loses one more element to zeros on every call in a
        # process ([0,1,2,3,4,5], then [0,1,2,3,4,0], ...: measured), so it never sees one.
        input, pad = _crop(input, pad), _positive_part(pad)
        if not _negative(tuple([-p for p in pad])):  # nothing left to pad
            return input
    if mode == "constant":
        return _pad(input, pad, "constant", 0.0 if value is None else value)
    if mode == "reflect" and (len(pad) > 4 or input.ndim > 4):  # CPU PadV3 reflect: 4-D at most
        return _reflect_pad(input, pad)
    return _pad(input, pad, mode)


# Plain loops over the (constant) pad tuple: graph mode compiles these where min()/any() fail on CPU.
def _negative(pad) -> bool:
    for p in pad:
        if p < 0:
            return True
    return False


def _positive_part(pad) -> tuple:
    out = []
    for p in pad:
        out.append(p if p > 0 else 0)
    return tuple(out)


def _crop(input, pad):
    """The negative entries of an F.pad spec ((left, right) pairs, last dimension first) as one slice."""
    index = [slice(None)] * input.ndim
    for i in range(len(pad) // 2):
        left, right = pad[2 * i], pad[2 * i + 1]
        index[input.ndim - 1 - i] = slice(-left if left < 0 else 0, right if right < 0 else None)
    return input[tuple(index)]


def normalize(input, p=2.0, dim=1, eps=1e-12):
    if p == 2 or p == 2.0:
        n = _sqrt(_reduce_sum(input * input, dim, keepdim=True))
    elif p == 1 or p == 1.0:
        n = _reduce_sum(_abs(input), dim, keepdim=True)
    else:
        n = ops.pow(_reduce_sum(ops.pow(_abs(input), p), dim, keepdim=True), 1.0 / p)
    return input / _maximum(n, ops.full_like(n, eps))


def one_hot(tensor, num_classes=-1):
    if num_classes < 0:
        num_classes = int(tensor.max()) + 1  # PyNative only, as in torch (data-dependent shape)
    on, off = ms.Tensor(1, ms.int64), ms.Tensor(0, ms.int64)
    return _one_hot(tensor, num_classes, on, off)


def mse_loss(input, target, reduction="mean"):
    d = input - target
    return _reduce(d * d, reduction)


def l1_loss(input, target, reduction="mean"):
    return _reduce(_abs(input - target), reduction)


def kl_div(input, target, reduction="mean", log_target=False):
    loss = _exp(target) * (target - input) if log_target else _xlogy(target, target) - target * input
    if reduction == "batchmean":
        return _reduce_sum(loss) / input.shape[0]
    return _reduce(loss, reduction)


def leaky_relu(input, negative_slope=0.01):
    return _where(input > 0, input, input * negative_slope)


def elu(input, alpha=1.0, inplace=False):
    return _where(input > 0, input, alpha * (_exp(_minimum(input, ops.zeros_like(input))) - 1))


def softplus(input, beta=1, threshold=20):
    z = input * beta
    safe = _minimum(z, ops.full_like(z, threshold))  # keeps exp finite in the unused branch
    return _where(z > threshold, input, _log1p(_exp(safe)) / beta)


def mish(input):
    return input * _tanh(softplus(input))


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    stride, dilation = _ntuple(stride, 2), _ntuple(dilation, 2)  # torch: stride=(2,) means (2, 2)
    if isinstance(padding, str):
        out = _conv2d(input, weight, None, stride, padding, 0, dilation, groups)
    else:
        out = _conv2d(input, weight, None, stride, "pad", _ntuple(padding, 2), dilation, groups)
    if bias is not None:
        out = out + _reshape(bias, (1, -1, 1, 1))
    return out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    # (N, Cin, L) as a (N, Cin, 1, L) image
    s = stride if isinstance(stride, int) else stride[0]
    d = dilation if isinstance(dilation, int) else dilation[0]
    if isinstance(padding, str):
        p2 = padding
    else:
        p2 = (0, padding if isinstance(padding, int) else padding[0])
    out = conv2d(_expand_dims(input, 2), _expand_dims(weight, 2), bias, (1, s), p2, (1, d), groups)
    return ops.squeeze(out, 2)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """torch semantics: batch statistics (biased var) when training, running stats updated in place
    with the unbiased var; running stats otherwise."""
    c = input.shape[1]
    axes = tuple([0] + list(range(2, input.ndim)))
    bshape = tuple([1, c] + [1] * (input.ndim - 2))
    if training:
        mean = _mean(input, axes, keep_dims=True)
        var = _mean((input - mean) * (input - mean), axes, keep_dims=True)
        if running_mean is not None:
            n = input.size // c
            m_new = _reshape(_stop_gradient(mean), (c,))
            v_new = _reshape(_stop_gradient(var), (c,)) * (n / max(n - 1, 1))
            ops.assign(running_mean, running_mean * (1 - momentum) + m_new * momentum)
            ops.assign(running_var, running_var * (1 - momentum) + v_new * momentum)
    else:
        mean, var = _reshape(running_mean, bshape), _reshape(running_var, bshape)
    out = (input - mean) * ops.rsqrt(var + eps)
    if weight is not None:
        out = out * _reshape(weight, bshape)
    if bias is not None:
        out = out + _reshape(bias, bshape)
    return out
