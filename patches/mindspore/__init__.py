"""MindSpore CPU/GPU kernel fallbacks: the patch set the MindSpore backend applies before it builds
a converted model. Applied only when the device target is CPU (or GPU, where the same kernels are
missing), never on Ascend. The table below is the whole set at a glance.

    import patches.mindspore
    patches.mindspore.apply()            # or apply("CPU"); returns the names applied
    patches.mindspore.revert()
    python -m patches list               # shows each patch, its condition and whether applied
    python -m patches.mindspore.probe    # probes every emitted name on CPU with the set applied
"""

from __future__ import annotations

from patches.conditions import DEVICE_OVERRIDE, Condition
from patches.manager import MANAGER

GROUP = "mindspore"
_M, _F, _NN, _T = "mindspore.mint.", "mindspore.mint.nn.functional.", "mindspore.mint.nn.", "mindspore.Tensor."
_C, _O, _FN, _L, _TM, _MA, _P, _CV, _NX, _D = (f"patches.mindspore.{m}:" for m in (
    "creation", "tensor_ops", "functional", "layers", "tensor_methods", "math_ops", "pooling", "conv", "nn_extra",
    "data_ops"))

# target -> replacement ("module:function"). Function forms work in PyNative and graph mode.
FALLBACKS = {
    **{_M + n: _C + n for n in (
        "arange", "zeros_like", "ones_like", "full", "full_like", "linspace", "clone", "rand", "randn",
        "rand_like", "randn_like", "randint", "randperm", "normal", "multinomial", "bernoulli")},
    **{_M + n: _O + n for n in (
        "stack", "tril", "cumsum", "index_select", "repeat_interleave", "roll", "outer", "unbind", "mm",
        "addcmul", "baddbmm", "floor_divide", "count_nonzero", "equal", "scatter_add", "argmax", "argmin",
        "sort", "argsort", "topk", "logsumexp", "var", "std", "norm", "split")},
    **{_F + n: _FN + n for n in (
        "embedding", "log_softmax", "cross_entropy", "nll_loss", "layer_norm", "gelu", "dropout", "pad",
        "normalize", "one_hot", "mse_loss", "l1_loss", "kl_div", "leaky_relu", "elu", "softplus", "mish",
        "conv2d", "conv1d", "batch_norm")},
    **{_M + n: _MA + n for n in (
        "acos", "asin", "atan", "atan2", "exp2", "log2", "log10", "frac", "dot", "mv", "addmm", "trace", "diag",
        "take", "std_mean", "var_mean", "randint_like", "t", "asinh", "acosh", "logaddexp", "bitwise_and", "bitwise_xor",
        "bitwise_or", "bitwise_not", "addcdiv", "cummax", "cummin")},
    **{_F + n: _MA + n for n in ("hardtanh", "relu6", "logsigmoid", "selu", "threshold", "soft_margin_loss")},
    **{_F + n: _P + n for n in ("max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "avg_pool1d", "adaptive_avg_pool1d",
                                "adaptive_max_pool1d", "avg_pool3d", "adaptive_avg_pool3d", "max_unpool2d")},
    **{_F + n: _CV + n for n in ("conv_transpose2d", "conv3d", "unfold", "fold")},
    **{_F + n: _NX + n for n in ("dropout2d", "cosine_embedding_loss")},
    **{_M + n: _D + n for n in ("median", "index_add", "histc")},
    **{_M + n: _D + n for n in ("bincount", "unique")},  # PyNative only: data-dependent output shapes
    _M + "einsum": "patches.mindspore.einsum:einsum",
    _M + "linalg.vector_norm": _MA + "linalg_vector_norm",
    _M + "linalg.norm": _MA + "linalg_norm",
    # layers whose construct calls a primitive or an attribute bound at __init__
    _NN + "Dropout.construct": _L + "dropout_construct",
    _NN + "Conv2d.construct": _L + "conv2d_construct",
    _NN + "Conv1d.construct": _L + "conv1d_construct",
    _NN + "MSELoss.construct": _L + "mse_loss_construct",
    _NN + "L1Loss.construct": _L + "l1_loss_construct",
    _NN + "LogSoftmax.construct": _L + "log_softmax_construct",
    _NN + "Hardtanh.construct": _L + "hardtanh_construct",  # also ReLU6 (a subclass)
    _NN + "MaxPool2d.construct": _L + "max_pool2d_construct",
    _NN + "AvgPool2d.construct": _L + "avg_pool2d_construct",
    _NN + "AvgPool1d.construct": _L + "avg_pool1d_construct",
    _NN + "AvgPool3d.construct": _L + "avg_pool3d_construct",
    _NN + "Conv3d.construct": _L + "conv3d_construct",
    _NN + "Unfold.construct": _L + "unfold_construct",
    _NN + "Fold.construct": _L + "fold_construct",
    _NN + "Dropout2d.construct": _L + "dropout2d_construct",
    _NN + "UpsamplingNearest2d.construct": _L + "upsampling_nearest2d_construct",
    _NN + "UpsamplingBilinear2d.construct": _L + "upsampling_bilinear2d_construct",
    # ConvTranspose2d, CosineEmbeddingLoss and ReflectionPad3d call the functionals above
}
# target -> wrapper(original): handles the arguments without a CPU kernel, passes the rest on.
WRAPPERS = {_F + "interpolate": "patches.mindspore.resample:interpolate_wrapper",  # linear/bilinear/bicubic
            _M + "div": _MA + "div_wrapper",  # rounding_mode="floor"
            _M + "where": _MA + "where_wrapper"}  # a uint8 condition
# Tensor methods: honoured in PyNative only (graph mode resolves methods internally).
TENSOR_METHODS = {_T + n: _TM + n for n in (
    "clone", "zero_", "fill_", "masked_fill_", "normal_", "uniform_", "repeat", "roll", "new_full")}
MISSING_METHODS = {_T + "detach": _TM + "detach"}  # absent in MindSpore 2.10: created by the patch
# x[:, ::2, ::2]: StridedSliceGrad fails for a step on an interior axis; x[mask2d, :] reads the wrong axes
# (Parameter is no Tensor subclass).
TENSOR_WRAPPERS = {t + "__getitem__": _TM + "getitem_wrapper" for t in (_T, "mindspore.Parameter.")}
# torch's Conv2d/Conv3d(stride=[2]): a 1-element stride/padding/dilation (every device target).
LAYER_INIT_WRAPPERS = {_NN + n + ".__init__": _L + "conv_sizes_wrapper" for n in ("Conv2d", "Conv3d")}

CONDITION = Condition.device_target("CPU", "GPU")


def _register() -> None:
    if any(p.group == GROUP for p in MANAGER.patches.values()):
        return
    for target, new in FALLBACKS.items():
        MANAGER.register(target, new, name=target.removeprefix("mindspore."), condition=CONDITION, group=GROUP)
    for target, wrap in WRAPPERS.items():
        MANAGER.register(target, wrapper=wrap, name=target.removeprefix("mindspore."), condition=CONDITION, group=GROUP)
    for target, wrap in TENSOR_WRAPPERS.items():
        MANAGER.register(target, wrapper=wrap, name=target.removeprefix("mindspore."), condition=CONDITION, group=GROUP,
                         note="PyNative only")
    for target, new in {**TENSOR_METHODS, **MISSING_METHODS}.items():
        MANAGER.register(target, new, name=target.removeprefix("mindspore."), condition=CONDITION, group=GROUP,
                         create_dummy=target in MISSING_METHODS, note="PyNative only")
    for target, wrap in LAYER_INIT_WRAPPERS.items():
        MANAGER.register(target, wrapper=wrap, name=target.removeprefix("mindspore.") + "(1-element sizes)",
                         group=GROUP, note="accepts torch's stride=[s]; all device targets")
    from patches.mindspore import cell_methods, layer_kwargs, tensor_api  # every device target

    cell_methods.register(MANAGER, GROUP)  # torch.nn.Module methods on nn.Cell
    layer_kwargs.register(MANAGER, GROUP)  # mint.nn layers accept torch's device=/inplace=
    tensor_api.register(MANAGER, GROUP)  # f"{loss:.4f}" on a 0-d tensor


def apply(device_target: str | None = None) -> list[str]:
    """Apply the fallback set when the device target (given, or MindSpore's current one) is CPU or
    GPU; a no-op on Ascend. Idempotent. Returns the names of the patches applied."""
    _register()
    if device_target is not None:
        DEVICE_OVERRIDE["mindspore"] = device_target
    else:
        DEVICE_OVERRIDE.pop("mindspore", None)
    return MANAGER.apply(group=GROUP)


def revert() -> list[str]:
    """Undo every fallback of this set; returns the names reverted."""
    _register()
    return MANAGER.revert(group=GROUP)


def names() -> list[str]:
    _register()
    return [p.name for p in MANAGER.select(group=GROUP)]


_register()
