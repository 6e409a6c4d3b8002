"""A running-statistics buffer updated in place in forward, and p.data.mul_ on parameters."""
# expect: same
import numpy as np
import torch

import torch.nn as nn


class Counter(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("total", torch.zeros(4))
        self.w = nn.Parameter(torch.ones(4))

    def forward(self, x):
        self.total.add_(x.sum(0))
        self.total[:2].mul_(0.5)
        return x * self.w


def inputs():
    return [np.arange(8, dtype=np.float32).reshape(2, 4)]


def f(x):
    m = Counter()
    m(x)
    m(x)
    for p in m.parameters():
        p.data.mul_(0.5)
    return m.total, m.w * 1.0
