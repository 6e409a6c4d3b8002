"""torch model for tests/backends/test_compat_nn_convert.py: a user subclass of nn.TransformerEncoderLayer
(overrides forward and _ff_block) stacked by nn.TransformerEncoder, an nn.TransformerDecoder with gelu
and norm_first, a causal mask from nn.Transformer.generate_square_subsequent_mask. x (N, L, E) -> (N, L, E)."""

import torch
import torch.nn as nn
import torch.nn.functional as F


class ScaledLayer(nn.TransformerEncoderLayer):
    def __init__(self, d_model, nhead, scale=0.5, **kwargs):
        super().__init__(d_model, nhead, **kwargs)
        self.scale = scale

    def _ff_block(self, x):
        return self.linear2(F.silu(self.linear1(x))) * self.scale

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        return super().forward(src, src_mask, src_key_padding_mask, is_causal) + src


class Model(nn.Module):
    def __init__(self, dim=8, heads=2):
        super().__init__()
        layer = ScaledLayer(dim, heads, dim_feedforward=12, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, norm=nn.LayerNorm(dim), enable_nested_tensor=False)
        dec = nn.TransformerDecoderLayer(dim, heads, 12, 0.0, "gelu", batch_first=True, norm_first=True)
        self.decoder = nn.TransformerDecoder(dec, num_layers=1)

    def forward(self, x):
        mask = nn.Transformer.generate_square_subsequent_mask(x.shape[1])
        memory = self.encoder(x, mask=mask)
        return self.decoder(x, memory, tgt_mask=mask)
