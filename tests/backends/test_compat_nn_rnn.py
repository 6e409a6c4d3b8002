"""compat_nn LSTM / GRU / RNN and their cells against real torch: outputs, final states and gradients
(parameters, inputs, initial states), fp32, rel L2 <= 1e-5, torch weights loaded by name."""

from __future__ import annotations

import numpy as np
import pytest

from compat_nn_helpers import assert_close, copy_weights, ms_env, ms_run, torch_run  # noqa: F401

pytestmark = pytest.mark.mindspore
TOL = 1e-5  # rel L2, fp32
I, HD, N, L = 3, 4, 2, 3

CASES = {  # name -> (class, kwargs, initial state given)
    "lstm_2layer_bidir_batch_first_h0": ("LSTM", dict(num_layers=2, bidirectional=True, batch_first=True), True),
    "lstm_proj_no_bias": ("LSTM", dict(proj_size=2, bias=False), False),
    "gru_2layer_bidir_h0": ("GRU", dict(num_layers=2, bidirectional=True), True),
    "gru_batch_first": ("GRU", dict(batch_first=True), False),
    "rnn_relu_bidir": ("RNN", dict(nonlinearity="relu", bidirectional=True), True),
    "rnn_tanh_2layer": ("RNN", dict(num_layers=2, batch_first=True), False),
}


def _state_shapes(cls, kw):
    d = 2 if kw.get("bidirectional") else 1
    layers = kw.get("num_layers", 1)
    h = (d * layers, N, kw.get("proj_size") or HD)
    return [h, (d * layers, N, HD)] if cls == "LSTM" else [h]


@pytest.mark.parametrize("case", list(CASES))
def test_recurrent_layer_matches_torch(case, ms_env):
    import torch

    from backends.mindspore import compat_nn

    cls, kw, with_state = CASES[case]
    torch.manual_seed(0)
    t, m = getattr(torch.nn, cls)(I, HD, **kw), getattr(compat_nn, cls)(I, HD, **kw)
    copy_weights(t, m)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, L, I) if kw.get("batch_first") else (L, N, I)).astype(np.float32)
    states = [rng.standard_normal(s).astype(np.float32) for s in _state_shapes(cls, kw)] if with_state else []
    d = 2 if kw.get("bidirectional") else 1
    out_shape = (N, L, d * (kw.get("proj_size") or HD)) if kw.get("batch_first") else (L, N, d * (kw.get("proj_size") or HD))
    seeds = [rng.standard_normal(s).astype(np.float32) for s in [out_shape, *_state_shapes(cls, kw)]]

    def call(rnn):
        def run(x, *hx):
            if not hx:
                return rnn(x)
            return rnn(x, (hx[0], hx[1]) if cls == "LSTM" else hx[0])

        return run

    assert_close(torch_run(t, call(t), [x, *states], seeds), ms_run(m, call(m), [x, *states], seeds), TOL)


def test_unbatched_lstm_and_graph_mode_gru_match_torch(ms_env):
    import torch

    from backends.mindspore import compat_nn

    rng = np.random.default_rng(1)
    torch.manual_seed(1)
    t, m = torch.nn.LSTM(I, HD), compat_nn.LSTM(I, HD)
    copy_weights(t, m)
    x = rng.standard_normal((L, I)).astype(np.float32)
    seeds = [rng.standard_normal(s).astype(np.float32) for s in [(L, HD), (1, HD), (1, HD)]]
    assert_close(torch_run(t, t, [x], seeds), ms_run(m, m, [x], seeds), TOL)

    t, m = torch.nn.GRU(I, HD, num_layers=2, bidirectional=True, batch_first=True), \
        compat_nn.GRU(I, HD, num_layers=2, bidirectional=True, batch_first=True)
    copy_weights(t, m)
    x = rng.standard_normal((N, L, I)).astype(np.float32)
    seeds = [rng.standard_normal(s).astype(np.float32) for s in [(N, L, 2 * HD), (4, N, HD)]]
    assert_close(torch_run(t, t, [x], seeds), ms_run(m, m, [x], seeds, jit=True), TOL)


@pytest.mark.parametrize("cls", ["LSTMCell", "GRUCell", "RNNCell"])
def test_cells_match_torch(cls, ms_env):
    import torch

    from backends.mindspore import compat_nn

    rng = np.random.default_rng(2)
    torch.manual_seed(2)
    kw = dict(nonlinearity="relu") if cls == "RNNCell" else {}
    t, m = getattr(torch.nn, cls)(I, HD, **kw), getattr(compat_nn, cls)(I, HD, **kw)
    copy_weights(t, m)
    x = rng.standard_normal((N, I)).astype(np.float32)
    states = [rng.standard_normal((N, HD)).astype(np.float32) for _ in range(2 if cls == "LSTMCell" else 1)]
    seeds = [rng.standard_normal((N, HD)).astype(np.float32) for _ in states]

    def call(cell):
        def run(x, *hx):
            return cell(x, (hx[0], hx[1]) if cls == "LSTMCell" else hx[0])

        return run

    assert_close(torch_run(t, call(t), [x, *states], seeds), ms_run(m, call(m), [x, *states], seeds), TOL)
