"""Named-tuple results: .values / .indices on topk/max/min/sort/median results."""
# expect: same
# jit: yes
import numpy as np
import torch


def inputs():
    return [np.random.default_rng(8).standard_normal((3, 5)).astype(np.float32)]


def f(x):
    a = torch.topk(x, 2).indices
    b = x.max(dim=1).values
    c = torch.sort(x, dim=-1).values
    d = x.min(1).indices
    e = torch.max(x, 1).indices
    r = x.topk(3, dim=-1)
    return a, b, c, d, e, r.values * 2.0, r.indices
