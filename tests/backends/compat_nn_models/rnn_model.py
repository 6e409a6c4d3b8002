"""torch model for tests/backends/test_compat_nn_convert.py: a 2-layer bidirectional nn.LSTM with initial
states, an nn.GRU on its output and an nn.GRUCell step. x (N, L, 3) -> (N, 4)."""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, inp=3, hidden=4):
        super().__init__()
        self.lstm = nn.LSTM(inp, hidden, num_layers=2, bidirectional=True, batch_first=True)
        self.gru = nn.GRU(2 * hidden, hidden, batch_first=True)
        self.cell = nn.GRUCell(hidden, hidden)
        self.h0 = nn.Parameter(torch.zeros(4, 1, hidden))

    def forward(self, x):
        self.lstm.flatten_parameters()
        h0 = self.h0.expand(4, x.shape[0], self.h0.shape[-1]).contiguous()
        y, (h, c) = self.lstm(x, (h0, torch.tanh(h0)))
        z, hz = self.gru(y)
        return self.cell(z[:, -1], hz[0]) + c.sum(0)
