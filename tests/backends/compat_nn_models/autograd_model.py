"""torch model for tests/backends/test_compat_nn_convert.py: custom torch.autograd.Functions whose
backward is deliberately not the true gradient (straight-through rounding; grad * 2 with ctx attributes
and saved tensors; two outputs, a None gradient). x (N, 4) -> (N, 4)."""

import torch
import torch.nn as nn


class RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, grad):
        return grad  # straight-through: round's true gradient is 0


class DoubleGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, scale):
        ctx.save_for_backward(x, w)
        ctx.scale = scale
        return x * w * scale, x + w

    @staticmethod
    def backward(ctx, grad_prod, grad_sum):
        x, w = ctx.saved_tensors
        gx = grad_prod * w * ctx.scale * 2 + grad_sum  # twice the true gradient of the product
        gw = None if not ctx.needs_input_grad[1] else grad_prod * x * ctx.scale
        return gx, gw, None


class Model(nn.Module):
    def __init__(self, dim=4):
        super().__init__()
        self.lin = nn.Linear(dim, dim)
        self.w = nn.Parameter(torch.linspace(0.5, 1.5, dim))

    def forward(self, x):
        h = RoundSTE.apply(self.lin(x) * 3)
        p, s = DoubleGrad.apply(h, self.w, 0.5)
        return p + s * s
