"""transformers.pytorch_utils on MindSpore: Conv1D (GPT-2's transposed linear)."""

from __future__ import annotations

import mindspore
from mindspore import mint, nn


class Conv1D(nn.Cell):
    """y = x @ weight + bias with weight (nx, nf): a Linear whose weight is stored transposed."""

    def __init__(self, nf, nx):
        super().__init__()
        self.nf, self.nx = nf, nx
        self.weight = mindspore.Parameter(mint.normal(0.0, 0.02, size=(nx, nf)))
        self.bias = mindspore.Parameter(mint.zeros(nf))

    def construct(self, x):  # x: (..., nx) -> (..., nf)
        out = mint.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight)
        return out.reshape(*x.shape[:-1], self.nf)
