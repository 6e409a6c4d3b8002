"""x.T, x.mT, x.dim(), x.ndim, x.numel(), new_zeros/new_ones with varargs sizes."""
# expect: same
# jit: yes
import numpy as np
import torch


def inputs():
    return [np.random.default_rng(10).standard_normal((2, 3)).astype(np.float32)]


def f(x):
    a = x.T * x.dim()
    b = x.unsqueeze(0).mT + x.ndim + x.numel()
    c = x.new_zeros(2, 3) + x.new_ones(2, 3) * 2.0
    return a, b, c
