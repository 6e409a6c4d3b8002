"""compat_nn Transformer layers and stacks against real torch: outputs and gradients (parameters and
inputs), fp32, rel L2 <= 1e-5, dropout=0, torch weights loaded by name; one stack also under mindspore.jit."""

from __future__ import annotations

import numpy as np
import pytest

from compat_nn_helpers import assert_close, copy_weights, ms_env, ms_run, torch_run  # noqa: F401

pytestmark = pytest.mark.mindspore
TOL = 1e-5  # rel L2, fp32
E, H, FF, N, S, T = 8, 2, 12, 2, 4, 3


def _act(kind, framework):
    if kind != "callable":
        return kind
    if framework == "torch":
        import torch

        return torch.nn.functional.silu
    from mindspore import mint

    return mint.nn.functional.silu


def _x(rng, batch_first, n):
    return rng.standard_normal((N, n, E) if batch_first else (n, N, E)).astype(np.float32)


def _kpm(n):
    m = np.zeros((N, n), bool)
    m[1, -1] = True
    return m


@pytest.mark.parametrize("norm_first,activation,batch_first", [
    (False, "relu", False), (True, "gelu", True), (False, "callable", True)])
def test_encoder_layer_matches_torch(norm_first, activation, batch_first, ms_env):
    import torch

    from backends.mindspore import compat_nn

    kw = dict(dim_feedforward=FF, dropout=0.0, norm_first=norm_first, batch_first=batch_first)
    torch.manual_seed(0)
    t = torch.nn.TransformerEncoderLayer(E, H, activation=_act(activation, "torch"), **kw)
    m = compat_nn.TransformerEncoderLayer(E, H, activation=_act(activation, "ms"), **kw)
    copy_weights(t, m)
    rng = np.random.default_rng(0)
    x = _x(rng, batch_first, S)
    mask = np.triu(np.ones((S, S), bool), 1)
    seeds = [rng.standard_normal(x.shape).astype(np.float32)]

    def call(layer):
        return lambda x, mask, kpm: layer(x, src_mask=mask, src_key_padding_mask=kpm)

    assert_close(torch_run(t, call(t), [x, mask, _kpm(S)], seeds), ms_run(m, call(m), [x, mask, _kpm(S)], seeds), TOL)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(norm_first, ms_env):
    import torch

    from backends.mindspore import compat_nn

    kw = dict(dim_feedforward=FF, dropout=0.0, norm_first=norm_first, batch_first=True, activation="gelu")
    torch.manual_seed(1)
    t, m = torch.nn.TransformerDecoderLayer(E, H, **kw), compat_nn.TransformerDecoderLayer(E, H, **kw)
    copy_weights(t, m)
    rng = np.random.default_rng(1)
    tgt, mem = _x(rng, True, T), _x(rng, True, S)
    tgt_mask = rng.standard_normal((T, T)).astype(np.float32)  # a float (additive) mask
    seeds = [rng.standard_normal(tgt.shape).astype(np.float32)]

    def call(layer):
        return lambda tgt, mem, tm, mkpm: layer(tgt, mem, tgt_mask=tm, memory_key_padding_mask=mkpm)

    inputs = [tgt, mem, tgt_mask, _kpm(S)]
    assert_close(torch_run(t, call(t), inputs, seeds), ms_run(m, call(m), inputs, seeds), TOL)


def test_stacks_with_norm_match_torch(ms_env):
    import torch
    from mindspore import mint

    from backends.mindspore import compat_nn

    kw = dict(dim_feedforward=FF, dropout=0.0)
    torch.manual_seed(2)
    t_enc = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(E, H, **kw), 2, norm=torch.nn.LayerNorm(E),
                                        enable_nested_tensor=False)
    t_dec = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(E, H, **kw), 2, norm=torch.nn.LayerNorm(E))
    t = torch.nn.ModuleDict({"enc": t_enc, "dec": t_dec})
    m_enc = compat_nn.TransformerEncoder(compat_nn.TransformerEncoderLayer(E, H, **kw), 2, norm=mint.nn.LayerNorm(E))
    m_dec = compat_nn.TransformerDecoder(compat_nn.TransformerDecoderLayer(E, H, **kw), 2, norm=mint.nn.LayerNorm(E))
    from backends.mindspore.compat import ModuleDict

    m = ModuleDict({"enc": m_enc, "dec": m_dec})
    copy_weights(t, m)
    assert "enc.layers.1.self_attn.in_proj_weight" in dict(m.parameters_and_names())
    rng = np.random.default_rng(2)
    src, tgt = _x(rng, False, S), _x(rng, False, T)
    causal = torch.nn.Transformer.generate_square_subsequent_mask(T).numpy()
    seeds = [rng.standard_normal(tgt.shape).astype(np.float32)]

    def call(d):
        return lambda src, tgt, kpm: d["dec"](tgt, d["enc"](src, src_key_padding_mask=kpm),
                                               tgt_mask=ms_or_torch(d, causal), memory_key_padding_mask=kpm)

    def ms_or_torch(d, mask):
        if isinstance(d, torch.nn.Module):
            return torch.from_numpy(mask)
        import mindspore

        return mindspore.Tensor(mask)

    inputs = [src, tgt, _kpm(S)]
    assert_close(torch_run(t, call(t), inputs, seeds), ms_run(m, call(m), inputs, seeds), TOL)


def test_transformer_matches_torch_in_graph_mode(ms_env):
    import torch

    from backends.mindspore import compat_nn

    kw = dict(d_model=E, nhead=H, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=FF, dropout=0.0,
              batch_first=True, norm_first=True)
    torch.manual_seed(3)
    t, m = torch.nn.Transformer(**kw), compat_nn.Transformer(**kw)
    assert {n: tuple(p.shape) for n, p in m.parameters_and_names()} == \
        {n: tuple(p.shape) for n, p in t.state_dict().items()}
    copy_weights(t, m)
    mask = compat_nn.Transformer.generate_square_subsequent_mask(T)
    np.testing.assert_array_equal(mask.asnumpy(), torch.nn.Transformer.generate_square_subsequent_mask(T).numpy())
    rng = np.random.default_rng(3)
    src, tgt = _x(rng, True, S), _x(rng, True, T)
    seeds = [rng.standard_normal(tgt.shape).astype(np.float32)]
    t_mask = torch.from_numpy(mask.asnumpy())

    def t_call(src, tgt):
        return t(src, tgt, tgt_mask=t_mask)

    def m_call(src, tgt):
        return m(src, tgt, tgt_mask=mask)

    expected = torch_run(t, t_call, [src, tgt], seeds)
    assert_close(expected, ms_run(m, m_call, [src, tgt], seeds), TOL)
    assert_close(expected, ms_run(m, m_call, [src, tgt], seeds, jit=True), TOL)
