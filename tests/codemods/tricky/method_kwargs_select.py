"""topk/sort/gather with keywords."""
# expect: same
# jit: yes
import numpy as np
import torch


def inputs():
    rng = np.random.default_rng(6)
    return [rng.standard_normal((3, 5)).astype(np.float32), rng.integers(0, 5, (3, 2))]


def f(x, i):
    a = x.topk(2, dim=-1)[0]
    b = x.sort(dim=-1, descending=True)[1]
    c = x.gather(dim=1, index=i)
    d = torch.gather(x, 1, i)
    return a, b, c, d
