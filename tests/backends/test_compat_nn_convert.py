"""End to end, one torch model per layer family (tests/backends/compat_nn_models/): converted with
codemods.convert_source (no diagnostics), run on MindSpore with the torch model's weights loaded by
name; outputs and gradients (parameters and input) equal torch's within rel L2 <= 1e-5 (fp32), in
PyNative and, for the families marked, under mindspore.jit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from codemods import convert_source
from compat_nn_helpers import assert_close, copy_weights, import_file, ms_env, ms_run, torch_run  # noqa: F401

pytestmark = pytest.mark.mindspore
TOL = 1e-5  # rel L2, fp32
MODELS = Path(__file__).with_name("compat_nn_models")
# family -> (input shape, output shape, modes)
FAMILIES = {
    "attention": ((2, 3, 8), (2, 3, 8), ("pynative",)),
    "transformer": ((2, 3, 8), (2, 3, 8), ("pynative", "graph")),
    "rnn": ((2, 3, 3), (2, 4), ("pynative",)),
    "autograd": ((3, 4), (3, 4), ("pynative", "graph")),
    "checkpoint": ((3, 4), (3, 4), ("pynative", "graph")),
}
CASES = [(f, m) for f, (_, _, modes) in FAMILIES.items() for m in modes]


@pytest.mark.parametrize("family,mode", CASES, ids=[f"{f}-{m}" for f, m in CASES])
def test_converted_model_matches_torch(family, mode, ms_env, tmp_path):
    import torch

    path = MODELS / f"{family}_model.py"
    result = convert_source(path.read_text(), path.name)
    assert result.diagnostics == [], [d.format() for d in result.diagnostics]
    assert "import torch" not in result.code and "compat_nn" in result.code
    out = tmp_path / f"ms_{family}_model.py"
    out.write_text(result.code)
    t_mod = import_file(path, f"torch_{family}_model")
    m_mod = import_file(out, f"ms_{family}_model_{mode}")
    torch.manual_seed(0)
    t_model, m_model = t_mod.Model(), m_mod.Model()
    copy_weights(t_model, m_model)
    in_shape, out_shape, _ = FAMILIES[family]
    rng = np.random.default_rng(0)
    x = rng.standard_normal(in_shape).astype(np.float32)
    seeds = [rng.standard_normal(out_shape).astype(np.float32)]
    expected = torch_run(t_model, t_model, [x], seeds)
    assert_close(expected, ms_run(m_model, m_model, [x], seeds, jit=mode == "graph"), TOL)
    if family == "autograd":  # the custom backward is used: torch's true gradient differs
        x_t = torch.tensor(x, requires_grad=True)
        w = t_model.w.detach().requires_grad_()
        h = torch.round(t_model.lin(x_t) * 3)
        ((h * w * 0.5 + (h + w) ** 2) * torch.from_numpy(seeds[0])).sum().backward()
        assert np.abs(x_t.grad.numpy()).max() == 0  # round blocks the true gradient
        assert np.abs(expected[2][0]).max() > 0


def test_compat_nn_imports_neither_torch_nor_codemods():
    import ast

    root = Path(__file__).resolve().parents[2] / "backends/mindspore/compat_nn"
    files = sorted(root.glob("*.py"))
    assert {f.name for f in files} >= {"__init__.py", "attention.py", "transformer.py", "rnn.py", "autograd.py",
                                       "checkpoint.py"}
    for f in files:
        tree = ast.parse(f.read_text())
        assert ast.get_docstring(tree), f.name
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not any(m.split(".")[0] in ("torch", "codemods") for m in imported), f.name


def test_unsupported_function_forms_are_refused_when_defined(ms_env):
    from backends.mindspore.compat_nn import Function

    with pytest.raises(TypeError, match="positional inputs"):
        class Star(Function):  # noqa: F841
            @staticmethod
            def forward(ctx, *xs):
                return xs[0]

            @staticmethod
            def backward(ctx, g):
                return g

    with pytest.raises(TypeError, match="only supported as"):
        class Leaky(Function):  # noqa: F841
            @staticmethod
            def forward(ctx, x):
                helper(ctx)
                return x

            @staticmethod
            def backward(ctx, g):
                return g
