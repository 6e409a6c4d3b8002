"""torch model for tests/backends/test_compat_nn_convert.py: nn.MultiheadAttention (batch_first, key
padding mask, per-head weights) and F.multi_head_attention_forward. x (N, L, E) -> (N, L, E)."""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self, dim=8, heads=2):
        super().__init__()
        self.heads = heads
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.cross = nn.MultiheadAttention(dim, heads, kdim=5, vdim=5, add_bias_kv=True)
        self.mem = nn.Linear(dim, 5)

    def forward(self, x):
        pad = torch.zeros(x.shape[0], x.shape[1], dtype=torch.bool)
        pad[0, -1] = True
        y, w = self.attn(x, x, x, key_padding_mask=pad, average_attn_weights=False)
        q = y.transpose(0, 1)
        m = self.mem(x).transpose(0, 1)
        z, _ = self.cross(q, m, m, need_weights=False)
        a = self.attn
        f, _ = F.multi_head_attention_forward(q, q, q, a.embed_dim, a.num_heads, a.in_proj_weight, a.in_proj_bias,
                                              None, None, False, 0.0, a.out_proj.weight, a.out_proj.bias,
                                              training=False)
        return z.transpose(0, 1) + f.transpose(0, 1) + w.sum(1).mean(-1, keepdim=True)
