"""Tensor.std/var are biased in MindSpore (torch: unbiased); unbiased= is not accepted by mint."""
# expect: same
import numpy as np
import torch


def inputs():
    return [np.random.default_rng(7).standard_normal((4, 6)).astype(np.float32)]


def f(x):
    return x.std(), x.std(dim=1), x.var(1), x.var(dim=0, unbiased=False), torch.std(x, dim=0, unbiased=False),         torch.var(x, 1, keepdim=True)
