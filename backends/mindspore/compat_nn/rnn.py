"""torch.nn.LSTM / GRU / RNN and LSTMCell / GRUCell / RNNCell for MindSpore, with torch's names.

    lstm = LSTM(input_size=I, hidden_size=Hd, num_layers=2, bidirectional=True, batch_first=True)
    out, (h_n, c_n) = lstm(x, (h0, c0))     # x (N, L, I) batch_first / (L, N, I) / unbatched (L, I)
        out (N, L, D*H_out); h_n (D*num_layers, N, H_out); c_n (D*num_layers, N, Hd); D = 2 if bidirectional
    out, h_n = GRU(I, Hd)(x, h0)             # RNN the same, nonlinearity "tanh" or "relu"
    h1, c1 = LSTMCell(I, Hd)(x, (h0, c0))    # x (N, I) or (I,)

Parameters as torch's state_dict: `weight_ih_l{k}` (G*Hd, I or D*H_out), `weight_hh_l{k}` (G*Hd, H_out),
`bias_ih_l{k}` / `bias_hh_l{k}` (G*Hd), `weight_hr_l{k}` (proj_size, Hd) for LSTM proj_size, each also
with `_reverse` for the backward direction (G = 4 LSTM, 3 GRU, 1 RNN; gate order i, f, g, o / r, z, n);
the cells have `weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`. Initial values U(-1/sqrt(Hd), 1/sqrt(Hd)).
The recurrence is a Python loop over time steps of mint ops (input projection for all steps in one
linear), so it also compiles under mindspore.jit (unrolled: fine for short sequences). Dropout between
layers draws MindSpore's random numbers. Not supported: PackedSequence inputs (the converter reports
torch.nn.utils.rnn.pack_padded_sequence). `flatten_parameters()` is a no-op, as torch on CPU.
Free of torch: converted code imports it at run time.
"""

from __future__ import annotations

import math

import mindspore
from mindspore import mint, nn
from mindspore.common.initializer import initializer

from backends.mindspore.compat import UniformRange

__all__ = ["RNNBase", "LSTM", "GRU", "RNN", "LSTMCell", "GRUCell", "RNNCell"]
_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _uniform(shape, hidden_size, dtype):
    k = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    return mindspore.Parameter(initializer(UniformRange(-k, k), shape, dtype or mindspore.float32))


def _linear(x, w, b):
    return mint.nn.functional.linear(x, w, b)


def _lstm_cell(xw, h, c, w_hh, b_hh, w_hr, hidden):
    """xw: x @ W_ih^T + b_ih (N, 4Hd); h (N, H_out), c (N, Hd) -> (h', c')."""
    gates = xw + _linear(h, w_hh, b_hh)
    i = mint.sigmoid(gates[..., :hidden])  # slices, not chunk (see attention.py)
    f = mint.sigmoid(gates[..., hidden:2 * hidden])
    g = mint.tanh(gates[..., 2 * hidden:3 * hidden])
    o = mint.sigmoid(gates[..., 3 * hidden:])
    c = f * c + i * g
    h = o * mint.tanh(c)
    if w_hr is not None:
        h = _linear(h, w_hr, None)
    return h, c


def _gru_cell(xw, h, w_hh, b_hh, hidden):
    """xw: x @ W_ih^T + b_ih (N, 3Hd); h (N, Hd) -> h' (torch: n = tanh(x_n + r * (W_hn h + b_hn)))."""
    gh = _linear(h, w_hh, b_hh)
    r = mint.sigmoid(xw[..., :hidden] + gh[..., :hidden])
    z = mint.sigmoid(xw[..., hidden:2 * hidden] + gh[..., hidden:2 * hidden])
    n = mint.tanh(xw[..., 2 * hidden:] + r * gh[..., 2 * hidden:])
    return (1 - z) * n + z * h


def _rnn_cell(xw, h, w_hh, b_hh, relu):
    pre = xw + _linear(h, w_hh, b_hh)
    return mint.nn.functional.relu(pre) if relu else mint.tanh(pre)


class RNNBase(nn.Cell):
    """torch.nn.RNNBase: the shared multi-layer, optionally bidirectional recurrence (see the module docstring)."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        if proj_size < 0 or (proj_size and mode != "LSTM") or (proj_size and proj_size >= hidden_size):
            raise ValueError("proj_size must be 0, or 0 < proj_size < hidden_size for LSTM")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        num_directions = 2 if bidirectional else 1
        real_hidden = proj_size if proj_size > 0 else hidden_size
        gate_size = _GATES[mode] * hidden_size
        names = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                in_size = input_size if layer == 0 else real_hidden * num_directions
                sfx = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                w = {"w_ih": f"weight_ih{sfx}", "w_hh": f"weight_hh{sfx}", "b_ih": None, "b_hh": None, "w_hr": None}
                setattr(self, w["w_ih"], _uniform((gate_size, in_size), hidden_size, dtype))
                setattr(self, w["w_hh"], _uniform((gate_size, real_hidden), hidden_size, dtype))
                if bias:
                    w["b_ih"], w["b_hh"] = f"bias_ih{sfx}", f"bias_hh{sfx}"
                    setattr(self, w["b_ih"], _uniform((gate_size,), hidden_size, dtype))
                    setattr(self, w["b_hh"], _uniform((gate_size,), hidden_size, dtype))
                if proj_size > 0:
                    w["w_hr"] = f"weight_hr{sfx}"
                    setattr(self, w["w_hr"], _uniform((proj_size, hidden_size), hidden_size, dtype))
                names.append((w["w_ih"], w["w_hh"], w["b_ih"], w["b_hh"], w["w_hr"]))
        self._weight_names = tuple(names)

    def flatten_parameters(self):
        return None

    def _param(self, name):
        return None if name is None else getattr(self, name)

    def _direction(self, x, h, c, index, reverse):
        """One layer, one direction over x (L, N, in): outputs (L, N, H_out), final h (and c for LSTM)."""
        names = self._weight_names[index]
        w_ih, w_hh, b_ih, b_hh = self._param(names[0]), self._param(names[1]), self._param(names[2]), self._param(names[3])
        w_hr = self._param(names[4])
        xw = _linear(x, w_ih, b_ih)  # (L, N, G*Hd): the input projection of every step at once
        steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
        outs = []
        for t in steps:
            if self.mode == "LSTM":
                h, c = _lstm_cell(xw[t], h, c, w_hh, b_hh, w_hr, self.hidden_size)
            elif self.mode == "GRU":
                h = _gru_cell(xw[t], h, w_hh, b_hh, self.hidden_size)
            else:
                h = _rnn_cell(xw[t], h, w_hh, b_hh, self.mode == "RNN_RELU")
            outs.append(h.unsqueeze(0))
        if reverse:
            outs = outs[::-1]
        return mint.cat(outs, dim=0), h, c

    def construct(self, input, hx=None):
        is_lstm = self.mode == "LSTM"
        is_batched = input.ndim == 3
        if not is_batched:
            input = input.unsqueeze(1)
            if hx is not None:
                hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1)) if is_lstm else hx.unsqueeze(1)
        elif self.batch_first:
            input = mint.transpose(input, 0, 1)
        num_directions = 2 if self.bidirectional else 1
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        batch = input.shape[1]
        if hx is None:
            h0 = mint.zeros((self.num_layers * num_directions, batch, real_hidden), dtype=input.dtype)
            c0 = mint.zeros((self.num_layers * num_directions, batch, self.hidden_size), dtype=input.dtype)
        elif is_lstm:
            h0, c0 = hx
        else:
            h0, c0 = hx, None
        x = input
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0 and self.training:
                x = mint.nn.functional.dropout(x, p=self.dropout, training=True)
            outs = []
            for direction in range(num_directions):
                index = layer * num_directions + direction
                out, h, c = self._direction(x, h0[index], c0[index] if is_lstm else None, index, direction == 1)
                outs.append(out)
                h_n.append(h.unsqueeze(0))
                if is_lstm:
                    c_n.append(c.unsqueeze(0))
            x = mint.cat(outs, dim=-1) if num_directions == 2 else outs[0]
        output, h_n = x, mint.cat(h_n, dim=0)
        c_n = mint.cat(c_n, dim=0) if is_lstm else None
        if not is_batched:
            output, h_n = output.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if is_lstm else None
        elif self.batch_first:
            output = mint.transpose(output, 0, 1)
        if is_lstm:
            return output, (h_n, c_n)
        return output, h_n


class LSTM(RNNBase):
    """torch.nn.LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, proj_size=0) -> (output, (h_n, c_n))."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, dtype=dtype)


class GRU(RNNBase):
    """torch.nn.GRU(input_size, hidden_size, num_layers=1, ...) -> (output, h_n)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype=dtype)


class RNN(RNNBase):
    """torch.nn.RNN(input_size, hidden_size, num_layers=1, nonlinearity="tanh", ...) -> (output, h_n)."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, dtype=dtype)
        self.nonlinearity = nonlinearity


class _CellBase(nn.Cell):
    def __init__(self, input_size, hidden_size, bias, gates, dtype):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = _uniform((gates * hidden_size, input_size), hidden_size, dtype)
        self.weight_hh = _uniform((gates * hidden_size, hidden_size), hidden_size, dtype)
        if bias:
            self.bias_ih = _uniform((gates * hidden_size,), hidden_size, dtype)
            self.bias_hh = _uniform((gates * hidden_size,), hidden_size, dtype)
        else:
            self.bias_ih = self.bias_hh = None

    def _zeros(self, input):
        return mint.zeros((*input.shape[:-1], self.hidden_size), dtype=input.dtype)


class LSTMCell(_CellBase):
    """torch.nn.LSTMCell: input (N, I) or (I,), hx (h, c) each (N, Hd) -> (h', c')."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, dtype)

    def construct(self, input, hx=None):
        h, c = (self._zeros(input), self._zeros(input)) if hx is None else hx
        xw = _linear(input, self.weight_ih, self.bias_ih)
        return _lstm_cell(xw, h, c, self.weight_hh, self.bias_hh, None, self.hidden_size)


class GRUCell(_CellBase):
    """torch.nn.GRUCell: input (N, I) or (I,), hx (N, Hd) -> h'."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, dtype)

    def construct(self, input, hx=None):
        h = self._zeros(input) if hx is None else hx
        return _gru_cell(_linear(input, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh,
                         self.hidden_size)


class RNNCell(_CellBase):
    """torch.nn.RNNCell: input (N, I) or (I,), hx (N, Hd) -> h'; nonlinearity "tanh" or "relu"."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 1, dtype)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity

    def construct(self, input, hx=None):
        h = self._zeros(input) if hx is None else hx
        return _rnn_cell(_linear(input, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh,
                         self.nonlinearity == "relu")
