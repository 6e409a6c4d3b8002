"""torch model for tests/backends/test_compat_nn_convert.py: torch.utils.checkpoint.checkpoint (both
use_reentrant settings) and checkpoint_sequential. x (N, 4) -> (N, 4)."""

import torch
import torch.nn as nn
from torch.utils.checkpoint import checkpoint, checkpoint_sequential


class Block(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.fc = nn.Linear(dim, dim)

    def forward(self, x):
        return x + torch.tanh(self.fc(x))


class Model(nn.Module):
    def __init__(self, dim=4):
        super().__init__()
        self.a = Block(dim)
        self.b = Block(dim)
        self.seq = nn.Sequential(Block(dim), nn.Tanh(), Block(dim), Block(dim))

    def forward(self, x):
        x = checkpoint(self.a, x, use_reentrant=False)
        x = checkpoint(self.b, x, use_reentrant=True)
        return checkpoint_sequential(self.seq, 2, x, use_reentrant=False)
