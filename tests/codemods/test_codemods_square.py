"""MB205: x.pow(2) / torch.pow(x, 2) / torch.square(x) become `x * x` (or mint.square(x) for a
compound x). torch computes pow(x, 2) as x * x and its backward as grad * 2 * x, so the converted
code must give the same values and gradients, element for element, in PyNative and graph mode.

    .venv/bin/pytest tests/codemods/test_codemods_square.py
"""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

from conftest import needs
from codemods import convert_source

SOURCE = '''
import torch
import torch.nn as nn


class Squares(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(4, 6))

    def forward(self, x, g):
        a = x.pow(2) * g                      # plain name -> x * x
        b = torch.pow(self.weight, 2) * g     # plain attribute -> self.weight * self.weight
        c = (x - self.weight).pow(2) * g      # compound -> mint.square(...)
        d = torch.square(x * self.weight) * g
        e = torch.square(self.weight) * g
        return a, b, c, d, e
'''


def _load(code, name, tmp_path):
    path = tmp_path / f"{name}.py"
    path.write_text(code)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_square_forms_are_emitted():
    code = convert_source(SOURCE, "squares.py").code
    assert "a = (x * x) * g" in code
    assert "b = (self.weight * self.weight) * g" in code
    assert "c = mint.square(x - self.weight) * g" in code
    assert "d = mint.square(x * self.weight) * g" in code
    assert "e = (self.weight * self.weight) * g" in code
    assert ".pow(" not in code and "mint.pow" not in code


@pytest.mark.mindspore
@pytest.mark.parametrize("graph", [False, True], ids=["pynative", "graph"])
def test_square_forms_match_torch_bit_for_bit(graph, tmp_path):
    needs("torch")
    needs("mindspore")
    import mindspore
    import torch

    mindspore.set_context(mode=mindspore.PYNATIVE_MODE)
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((4, 6)) * 3).astype(np.float32)
    x[0, :2] = [0.0, -0.0]
    g = rng.standard_normal((4, 6)).astype(np.float32)
    w = (rng.standard_normal((4, 6)) * 2).astype(np.float32)

    t_model = _load(SOURCE, "torch_squares", tmp_path).Squares()
    with torch.no_grad():
        t_model.weight.copy_(torch.from_numpy(w))
    tx = torch.from_numpy(x).requires_grad_(True)
    t_outs = t_model(tx, torch.from_numpy(g))
    t_vals, t_grads = [], []
    for out in t_outs:
        t_model.zero_grad()
        tx.grad = None
        out.sum().backward(retain_graph=True)
        t_vals.append(out.detach().numpy())
        t_grads.append(tuple(np.zeros((4, 6), np.float32) if t.grad is None else t.grad.numpy().copy()
                             for t in (tx, t_model.weight)))

    m_model = _load(convert_source(SOURCE, "squares.py").code, "ms_squares", tmp_path).Squares()
    m_model.weight.set_data(mindspore.Tensor(w))
    mx, mg = mindspore.Tensor(x), mindspore.Tensor(g)
    def pick(k):
        def fwd(inp, gg):
            return m_model(inp, gg)[k]

        def term(inp, gg):
            return m_model(inp, gg)[k].sum()

        return fwd, term

    for k in range(5):
        fwd, term = pick(k)
        grad_fn = mindspore.value_and_grad(term, 0, m_model.trainable_params())
        if graph:
            fwd, grad_fn = mindspore.jit(fwd), mindspore.jit(grad_fn)
        _, (gx, (gw,)) = grad_fn(mx, mg)
        np.testing.assert_array_equal(fwd(mx, mg).asnumpy(), t_vals[k], err_msg=f"output {k}")
        np.testing.assert_array_equal(gx.asnumpy(), t_grads[k][0], err_msg=f"d/dx of output {k}")
        np.testing.assert_array_equal(gw.asnumpy(), t_grads[k][1], err_msg=f"d/dweight of output {k}")
