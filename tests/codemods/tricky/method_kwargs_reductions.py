"""Tensor-method reductions with torch's keyword names."""
# expect: same
# jit: yes
import numpy as np
import torch


def inputs():
    return [np.random.default_rng(4).standard_normal((3, 4, 5)).astype(np.float32)]


def f(x):
    a = x.sum(dim=1, keepdim=True)
    b = x.mean(dim=(1, 2))
    c = x.max(dim=1)[0]
    d = x.argmax(dim=-1)
    e = x.cumsum(dim=0)
    g = x.norm(dim=-1)
    h = x.amax(dim=1)
    i = x.argmin(dim=-1)
    return a, b, c, d, e, g, h, i
