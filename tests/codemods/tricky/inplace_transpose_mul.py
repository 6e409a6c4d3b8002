"""In-place mul through a transpose: MindSpore writes into a copy, so the converter reports it."""
# expect: report
import numpy as np
import torch


def inputs():
    return [np.arange(24, dtype=np.float32).reshape(2, 3, 4)]


def f(x):
    x = x * 1.0
    x.transpose(1, 2).mul_(2.0)  # report: MB206
    return x
