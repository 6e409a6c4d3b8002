"""More in-place math on a plain name (timm's trunc_normal_: uniform_, erfinv_, mul_, add_, clamp_),
each rewritten to `x.copy_(mint.<op>(x, ...))`: MindSpore 2.10 CPU has no InplaceErfinv kernel,
and its other in-place methods leave x unchanged."""
# expect: same
# jit: no
import math

import numpy as np
import torch


def inputs():
    rng = np.random.default_rng(5)
    return [rng.uniform(-0.9, 0.9, (3, 4)).astype(np.float32), rng.uniform(0.1, 0.9, (3, 4)).astype(np.float32)]


def f(x, y):
    a = x * 1.0
    a.erfinv_()
    a.mul_(0.5 * math.sqrt(2.0))
    a.add_(0.1)
    a.clamp_(min=-0.5, max=0.5)
    b = y * 1.0
    b.atan_()
    b.asin_()
    b.log2_()
    b.exp2_()
    c = x * 1.0
    c.tan_()
    c.sinh_()
    c.atan2_(y)
    c.nan_to_num_(0.0)
    d = y * 1.0
    d.log10_()
    d.cosh_()
    d.acosh_()
    e = x * 0.5
    e.atanh_()
    e.asinh_()
    e.trunc_()
    return a, b, c, d, e
