"""Boolean masks: where (3-arg), masked_fill, mask arithmetic, ~mask, mask.sum()."""
# expect: same
# jit: yes
import numpy as np
import torch


def inputs():
    return [np.random.default_rng(11).standard_normal((3, 4)).astype(np.float32)]


def f(x):
    mask = x > 0
    a = torch.where(mask, x, torch.zeros_like(x))
    b = x.masked_fill(~mask, -1.0)
    c = mask.sum(-1)
    d = (mask & (x < 1.0)).float().mean()
    return a, b, c, d
