"""compat_nn.MultiheadAttention / multi_head_attention_forward against real torch: outputs, attention
weights and gradients (parameters and inputs), fp32, rel L2 <= 1e-5, torch weights loaded by name."""

from __future__ import annotations

import numpy as np
import pytest

from compat_nn_helpers import assert_close, copy_weights, ms_env, ms_run, torch_run  # noqa: F401

pytestmark = pytest.mark.mindspore
TOL = 1e-5  # rel L2, fp32
E, H, N, L, S = 8, 2, 2, 3, 4

# name -> (constructor kwargs, call kwargs, masks)
CASES = {
    "self_batch_first_weights": (dict(batch_first=True), dict(need_weights=True), ()),
    "kdim_vdim_kpm_bool_no_weights": (dict(kdim=5, vdim=6), dict(need_weights=False), ("kpm_bool",)),
    "bias_kv_zero_attn_float_mask_per_head": (dict(add_bias_kv=True, add_zero_attn=True),
                                              dict(need_weights=True, average_attn_weights=False), ("mask_float",)),
    "mask3d_bool_and_kpm_float_no_weights": (dict(batch_first=True), dict(need_weights=False),
                                             ("mask3d_bool", "kpm_float")),
    "no_bias_mask_bool_weights": (dict(bias=False), dict(need_weights=True), ("mask_bool",)),
    "causal_hint": (dict(batch_first=True), dict(need_weights=False, is_causal=True), ("causal",)),
}


def _masks(kinds, rng):
    out = {}
    for kind in kinds:
        if kind == "kpm_bool":
            m = np.zeros((N, S), bool); m[1, -1] = True
            out["key_padding_mask"] = m
        elif kind == "kpm_float":
            out["key_padding_mask"] = rng.standard_normal((N, S)).astype(np.float32)
        elif kind == "mask_float":
            out["attn_mask"] = rng.standard_normal((L, S)).astype(np.float32)
        elif kind == "mask_bool":
            m = np.zeros((L, S), bool); m[0, 2:] = True
            out["attn_mask"] = m
        elif kind == "mask3d_bool":
            m = rng.random((N * H, L, S)) < 0.3; m[:, :, 0] = False
            out["attn_mask"] = m
        elif kind == "causal":
            out["attn_mask"] = np.triu(np.ones((L, L), bool), 1)
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_multihead_attention_matches_torch(case, ms_env):
    import torch

    from backends.mindspore.compat_nn import MultiheadAttention

    ctor, call_kw, mask_kinds = CASES[case]
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    t_mha = torch.nn.MultiheadAttention(E, H, **ctor)
    m_mha = MultiheadAttention(E, H, **ctor)
    copy_weights(t_mha, m_mha)
    bf = ctor.get("batch_first", False)
    shape = (lambda n, d: (N, n, d)) if bf else (lambda n, d: (n, N, d))
    self_attn = "kdim" not in ctor and not mask_kinds or case == "causal_hint"
    q = rng.standard_normal(shape(L, E)).astype(np.float32)
    k = q if self_attn else rng.standard_normal(shape(S, ctor.get("kdim", E))).astype(np.float32)
    v = q if self_attn else rng.standard_normal(shape(S, ctor.get("vdim", E))).astype(np.float32)
    masks = _masks(mask_kinds, rng)
    names = list(masks)
    inputs = [q, k, v, *masks.values()]

    def call(mha):
        return lambda q, k, v, *m: mha(q, k, v, **dict(zip(names, m)), **call_kw)

    s = k.shape[1 if bf else 0] + (2 if ctor.get("add_bias_kv") else 0)
    w_shape = (N, H, L, s) if call_kw.get("average_attn_weights") is False else (N, L, s)
    seeds = [rng.standard_normal(q.shape).astype(np.float32)]
    if call_kw["need_weights"]:
        seeds.append(rng.standard_normal(w_shape).astype(np.float32))
    t = torch_run(t_mha, call(t_mha), inputs, seeds)
    m = ms_run(m_mha, call(m_mha), inputs, seeds)
    assert_close(t, m, TOL)


def test_unbatched_input_matches_torch(ms_env):
    import torch

    from backends.mindspore.compat_nn import MultiheadAttention

    rng = np.random.default_rng(1)
    torch.manual_seed(1)
    t_mha, m_mha = torch.nn.MultiheadAttention(E, H), MultiheadAttention(E, H)
    copy_weights(t_mha, m_mha)
    x = rng.standard_normal((L, E)).astype(np.float32)
    seeds = [rng.standard_normal((L, E)).astype(np.float32), rng.standard_normal((L, L)).astype(np.float32)]
    assert_close(torch_run(t_mha, lambda x: t_mha(x, x, x), [x], seeds),
                 ms_run(m_mha, lambda x: m_mha(x, x, x), [x], seeds), TOL)


def test_parameter_names_and_shapes_are_torchs(ms_env):
    import torch

    from backends.mindspore.compat_nn import MultiheadAttention

    for kw in (dict(), dict(kdim=5, vdim=6, add_bias_kv=True), dict(bias=False)):
        t = {n: tuple(p.shape) for n, p in torch.nn.MultiheadAttention(E, H, **kw).state_dict().items()}
        m = {n: tuple(p.shape) for n, p in MultiheadAttention(E, H, **kw).parameters_and_names()}
        assert m == t, kw


def test_graph_mode_matches_torch(ms_env):
    import torch

    from backends.mindspore.compat_nn import MultiheadAttention

    rng = np.random.default_rng(2)
    torch.manual_seed(2)
    t_mha, m_mha = torch.nn.MultiheadAttention(E, H, batch_first=True), MultiheadAttention(E, H, batch_first=True)
    copy_weights(t_mha, m_mha)
    x = rng.standard_normal((N, L, E)).astype(np.float32)
    kpm = np.zeros((N, L), bool); kpm[0, -1] = True
    seeds = [rng.standard_normal((N, L, E)).astype(np.float32), rng.standard_normal((N, L, L)).astype(np.float32)]

    def call(mha):
        def run(x, m):  # a def, not a lambda: graph mode parses it from its source lines
            return mha(x, x, x, key_padding_mask=m)

        return run

    t = torch_run(t_mha, call(t_mha), [x, kpm], seeds)
    assert_close(t, ms_run(m_mha, call(m_mha), [x, kpm], seeds, jit=True), TOL)
