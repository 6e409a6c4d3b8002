"""transformers.initialization on MindSpore: the in-place initialisers a family's _init_weights calls.

Our PreTrainedModel.post_init runs no init pass (the folder's weights are loaded), so these serve a
user who calls `model._init_weights(m)` / `model.apply(model._init_weights)` on a converted model."""

from __future__ import annotations

import mindspore
from mindspore import mint


def _write(tensor, value):
    tensor.set_data(value.astype(tensor.dtype))
    return tensor


def normal_(tensor, mean=0.0, std=1.0):
    return _write(tensor, mint.normal(mean, std, size=tuple(tensor.shape)))


def zeros_(tensor):
    return _write(tensor, mint.zeros(tuple(tensor.shape), dtype=mindspore.float32))


def ones_(tensor):
    return _write(tensor, mint.ones(tuple(tensor.shape), dtype=mindspore.float32))


def constant_(tensor, value):
    return _write(tensor, mint.full(tuple(tensor.shape), value, dtype=mindspore.float32))
