"""softmax/log_softmax/squeeze/unsqueeze/flatten with dim= keywords (Tensor.softmax(dim=) is a TypeError)."""
# expect: same
# jit: yes
import numpy as np
import torch


def inputs():
    return [np.random.default_rng(5).standard_normal((1, 3, 4)).astype(np.float32)]


def f(x):
    a = x.softmax(dim=-1)
    b = x.log_softmax(dim=-1)
    c = x.squeeze(dim=0)
    d = x.squeeze()
    e = x.unsqueeze(dim=1)
    g = x.flatten(start_dim=1)
    return a, b, c, d, e, g, Head()(x)


class Head(torch.nn.Module):
    """`self.norm(x)` / `self.softmax(x)` call sub-modules: never Tensor-method function forms."""

    def __init__(self):
        super().__init__()
        self.norm = torch.nn.Identity()
        self.softmax = torch.nn.Softmax(dim=-1)

    def forward(self, x):
        return self.softmax(self.norm(x))


def g(x):
    return Head()(x)
