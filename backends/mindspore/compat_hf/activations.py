"""transformers.activations.ACT2FN on mindspore.mint: config.hidden_act -> a Cell."""

from __future__ import annotations

from mindspore import mint, nn


class _GELUTanh(nn.Cell):
    """gelu_new / gelu_pytorch_tanh / gelu_fast: the tanh approximation."""

    def construct(self, x):
        return mint.nn.functional.gelu(x, approximate="tanh")


class _QuickGELU(nn.Cell):
    """quick_gelu (CLIP): x * sigmoid(1.702 x), as transformers' QuickGELUActivation."""

    def construct(self, x):
        return x * mint.sigmoid(1.702 * x)


class _ACT2FN(dict):
    def __getitem__(self, key):
        try:
            return dict.__getitem__(self, key)()
        except KeyError:
            raise KeyError(f"hidden_act '{key}' has no MindSpore activation here (known: {sorted(self)})") from None


ACT2FN = _ACT2FN(
    silu=mint.nn.SiLU, swish=mint.nn.SiLU, relu=mint.nn.ReLU, gelu=mint.nn.GELU, tanh=mint.nn.Tanh,
    sigmoid=mint.nn.Sigmoid, gelu_new=_GELUTanh, gelu_pytorch_tanh=_GELUTanh, gelu_fast=_GELUTanh,
    quick_gelu=_QuickGELU,
)


def get_activation(name):
    return ACT2FN[name]
