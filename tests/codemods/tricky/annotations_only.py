"""torch only in annotations, a docstring and strings: nothing reported, no torch import left.

Uses torch.LongTensor and torch.stft in this docstring.
"""
# expect: same
# jit: yes
from typing import Optional, Tuple

import numpy as np
import torch


def inputs():
    return [np.arange(6, dtype=np.int64).reshape(2, 3)]


def f(input_ids: torch.LongTensor, mask: Optional[torch.BoolTensor] = None) -> Tuple[torch.Tensor, ...]:
    """Returns torch.FloatTensor of shape (batch, seq)."""
    note: torch.FloatTensor = input_ids.float()
    label = "torch.stft"
    return note * 2.0, (note + len(label))
