"""zero_() through view(-1) and add_ through .T: reported (not writable through setitem)."""
# expect: report
import numpy as np
import torch


def inputs():
    return [np.arange(6, dtype=np.float32).reshape(2, 3)]


def f(x):
    x = x * 1.0
    x.view(-1).zero_()  # report: MB206
    x.T.add_(1.0)  # report: MB206
    x.detach().mul_(2.0)  # report: MB206
    return x
