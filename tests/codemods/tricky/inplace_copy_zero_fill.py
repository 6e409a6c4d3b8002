"""copy_/zero_/fill_ on basic-index receivers become setitem."""
# expect: same
# jit: yes
import numpy as np
import torch


def inputs():
    rng = np.random.default_rng(1)
    return [rng.standard_normal((4, 5)).astype(np.float32), rng.standard_normal((4, 5)).astype(np.float32)]


def f(x, y):
    x = x * 1.0
    x[..., :2].copy_(y[..., :2])
    x[1:3].zero_()
    x[-1].fill_(5.0)
    return x
