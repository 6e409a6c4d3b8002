"""torch.nn.Transformer{Encoder,Decoder}{Layer,} and nn.Transformer for MindSpore, with torch's names.

    layer = TransformerEncoderLayer(d_model=E, nhead=H, dim_feedforward=F, batch_first=True)
    enc = TransformerEncoder(layer, num_layers=2, norm=mint.nn.LayerNorm(E))
    y = enc(src, mask=(S, S) mask, src_key_padding_mask=(N, S) mask)         # src (N, S, E) / (S, N, E)
    out = Transformer(d_model=E, nhead=H, ...)(src, tgt, tgt_mask=Transformer.generate_square_subsequent_mask(T))

Parameter names equal torch's state_dict keys: `self_attn.in_proj_weight`, `self_attn.out_proj.weight`,
`multihead_attn.*` (decoder), `linear1.weight`, `linear2.bias`, `norm1.weight` ... `norm3.bias`,
`layers.0.<...>` in the stacks, `encoder.norm.weight` / `decoder.norm.weight` in Transformer. The
computation is torch's slow (autograd) path: norm_first or post-norm, activation "relu" / "gelu" /
any callable, masks as in MultiheadAttention (bool True = not allowed, float added), is_causal
hints passed on as torch does. The methods torch's subclasses override keep torch's names
(`_sa_block`, `_mha_block`, `_ff_block`); forward is `construct` (the converter renames a
subclass's `forward` too). Stacks deep-copy the given layer, as torch does.
Not reproduced: torch's inference fast path / nested tensors (under no_grad torch may return zeros
at padded positions; this always computes them), `enable_nested_tensor` and `mask_check` are
accepted and ignored. Dropout draws MindSpore's random numbers, not torch's.
Free of torch: converted code imports it at run time.
"""

from __future__ import annotations

import copy

import mindspore
from mindspore import mint, nn
from mindspore.common.initializer import XavierUniform, initializer

from backends.mindspore.compat_nn.attention import MultiheadAttention

__all__ = ["TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder", "TransformerDecoder",
           "Transformer"]


def _relu(x):
    return mint.nn.functional.relu(x)  # looked up per call: patches.mindspore may replace it


def _gelu(x):
    return mint.nn.functional.gelu(x)


def _activation(activation):
    if isinstance(activation, str):
        if activation == "relu":
            return _relu
        if activation == "gelu":
            return _gelu
        raise RuntimeError(f"activation should be relu/gelu, not {activation}")
    return activation


def _clones(cell, n):
    return nn.CellList([copy.deepcopy(cell) for _ in range(n)])


class TransformerEncoderLayer(nn.Cell):
    """torch.nn.TransformerEncoderLayer: src (N, S, E) with batch_first, else (S, N, E); same shape out."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu", layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dtype)
        self.linear1 = mint.nn.Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = mint.nn.Dropout(dropout)
        self.linear2 = mint.nn.Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = mint.nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = mint.nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = mint.nn.Dropout(dropout)
        self.dropout2 = mint.nn.Dropout(dropout)
        self.activation = _activation(activation)
        self.batch_first = batch_first

    def construct(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal=is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal=is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False,
                           is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout2(x)


class TransformerDecoderLayer(nn.Cell):
    """torch.nn.TransformerDecoderLayer: tgt (N, T, E) / (T, N, E), memory (N, S, E) / (S, N, E)."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu", layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dtype)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                 batch_first=batch_first, dtype=dtype)
        self.linear1 = mint.nn.Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = mint.nn.Dropout(dropout)
        self.linear2 = mint.nn.Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = mint.nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = mint.nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm3 = mint.nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = mint.nn.Dropout(dropout)
        self.dropout2 = mint.nn.Dropout(dropout)
        self.dropout3 = mint.nn.Dropout(dropout)
        self.activation = _activation(activation)
        self.batch_first = batch_first

    def construct(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                  memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, is_causal=is_causal,
                           need_weights=False)[0]
        return self.dropout1(x)

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal=False):
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                is_causal=is_causal, need_weights=False)[0]
        return self.dropout2(x)

    def _ff_block(self, x):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout3(x)


def _causal_hint(is_causal):
    # torch detects a causal `mask` when the hint is None; the mask is then used as given, the same numbers
    return False if is_causal is None else is_causal


class TransformerEncoder(nn.Cell):
    """torch.nn.TransformerEncoder: `num_layers` deep copies of `encoder_layer` as `layers.<i>`, then `norm`."""

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True, mask_check=True):
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def construct(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        output = src
        for mod in self.layers:
            output = mod(output, src_mask=mask, is_causal=_causal_hint(is_causal),
                         src_key_padding_mask=src_key_padding_mask)
        if self.norm is not None:
            output = self.norm(output)
        return output


class TransformerDecoder(nn.Cell):
    """torch.nn.TransformerDecoder: `num_layers` deep copies of `decoder_layer` as `layers.<i>`, then `norm`."""

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def construct(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                  memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        output = tgt
        for mod in self.layers:
            output = mod(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                         tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                         tgt_is_causal=_causal_hint(tgt_is_causal), memory_is_causal=memory_is_causal)
        if self.norm is not None:
            output = self.norm(output)
        return output


class Transformer(nn.Cell):
    """torch.nn.Transformer: `encoder` (+ `encoder.norm`) and `decoder` (+ `decoder.norm`); src/tgt as the layers."""

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6, dim_feedforward=2048,
                 dropout=0.1, activation="relu", custom_encoder=None, custom_decoder=None, layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            layer = TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                                            batch_first, norm_first, bias, dtype=dtype)
            norm = mint.nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
            self.encoder = TransformerEncoder(layer, num_encoder_layers, norm)
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            layer = TransformerDecoderLayer(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                                            batch_first, norm_first, bias, dtype=dtype)
            norm = mint.nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
            self.decoder = TransformerDecoder(layer, num_decoder_layers, norm)
        for p in self.get_parameters():  # torch's _reset_parameters
            if p.ndim > 1:
                p.set_data(initializer(XavierUniform(), p.shape, p.dtype))
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def construct(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None, src_key_padding_mask=None,
                  tgt_key_padding_mask=None, memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                  memory_is_causal=False):
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        """(sz, sz) float mask: -inf above the diagonal, 0 elsewhere (as torch)."""
        return mint.triu(mint.full((sz, sz), float("-inf"), dtype=dtype or mindspore.float32), diagonal=1)
