"""A name bound from a view, updated in place: x changes in torch only. Reported."""
# expect: report
import numpy as np
import torch


def inputs():
    return [np.zeros((2, 3), np.float32)]


def f(x):
    v = x[:, 0]
    v.add_(1.0)  # report: MB206
    for row in x.unbind(0):
        row.mul_(2.0)  # report: MB206
    return x
