"""In-place add through a column slice: torch writes into x; MindSpore needs setitem."""
# expect: same
# jit: yes
import numpy as np
import torch


def inputs():
    rng = np.random.default_rng(0)
    return [rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((3,)).astype(np.float32)]


def f(x, y):
    x = x * 1.0
    x[:, 1].add_(y)
    x[0].mul_(2)
    x[1:, 2:].sub_(y[1:, None], alpha=0.5)
    return x
