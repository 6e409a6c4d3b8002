"""In-place ops on a plain name: MindSpore 2.10 add_/mul_ return the value but leave x unchanged."""
# expect: same
# jit: yes
import numpy as np
import torch


def inputs():
    rng = np.random.default_rng(2)
    return [rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((3, 4)).astype(np.float32)]


def f(x, y):
    x = x * 1.0
    x.add_(y, alpha=2.0)
    x.mul_(3.0)
    x.clamp_(min=-1.0, max=4.0)
    x.masked_fill_(x > 3.0, 0.0)
    z = x.sub_(1.0)
    return x, z
