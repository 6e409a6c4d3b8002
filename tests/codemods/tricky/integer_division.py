"""Integer and floor division: //, torch.div rounding modes, int / int -> float."""
# expect: same
import numpy as np
import torch


def inputs():
    return [np.array([-7, -3, 0, 3, 7], np.int64), np.array([2, 2, 3, -2, 3], np.int64)]


def f(a, b):
    return a // b, torch.div(a, b, rounding_mode="floor"), torch.div(a, b, rounding_mode="trunc"), a / b, a % b
