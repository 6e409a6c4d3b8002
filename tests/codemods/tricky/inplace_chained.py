"""Chained in-place calls (x.mul_(a).add_(b)) on a view, and an indexed update inside an expression."""
# expect: report
import numpy as np
import torch


def inputs():
    return [np.ones((2, 3), np.float32)]


def f(x):
    x = x * 1.0
    x.mul_(2.0).add_(1.0)  # report: MB206
    z = x[:, 1].add_(1.0)  # report: MB206
    return x, z
