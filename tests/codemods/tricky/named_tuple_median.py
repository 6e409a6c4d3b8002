"""torch.median(x, dim).values (PyNative)."""
# expect: same
import numpy as np
import torch


def inputs():
    return [np.random.default_rng(9).standard_normal((3, 5)).astype(np.float32)]


def f(x):
    m = torch.median(x, 1)
    return m.values, m.indices, torch.median(x)
