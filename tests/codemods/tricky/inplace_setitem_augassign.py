"""Setitem and augmented setitem already write on MindSpore: kept as they are."""
# expect: same
# jit: yes
import numpy as np
import torch


def inputs():
    rng = np.random.default_rng(3)
    return [rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((2, 3)).astype(np.float32)]


def f(x, y):
    x = x * 1.0
    x[1:3] += y
    x[0] = 7.0
    return x
