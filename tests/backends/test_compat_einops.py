"""einops on MindSpore (backends/mindspore/compat_einops.py) against einops on torch, real frameworks:
rearrange / repeat / reduce (every reduction) / einsum / pack / unpack / parse_shape / asnumpy on
mindspore.Tensor, values and input gradients; the Rearrange / Reduce / EinMix Cells with a torch
state_dict loaded by name; and a small ViT written with einops, converted by codemods.convert_source
and run on MindSpore. Tolerance: rel L2 <= 1e-6 (fp32) for values and gradients of functions and
layers, <= 1e-5 for the converted model (as tests/backends/test_compat_nn_convert.py); bools exactly.

    .venv/bin/pytest tests/backends/test_compat_einops.py -q
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from codemods import convert_source
from compat_nn_helpers import assert_close, copy_weights, import_file, ms_env, ms_run, rel_l2, torch_run  # noqa: F401
from conftest import needs

pytestmark = pytest.mark.mindspore
TOL = 1e-6  # rel L2, fp32


@pytest.fixture(scope="module")
def einops_env(ms_env):
    needs("einops")
    import einops

    import backends.mindspore.compat_einops  # noqa: F401  (registers the backend, as converted files do)

    return einops


def _x(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# name -> (fn(einops, *tensors), input shapes)
FUNCTIONS = {
    "rearrange": (lambda e, x: e.rearrange(x, "b (h p1) (w p2) c -> b (h w) (p1 p2 c)", p1=2, p2=2), [(2, 4, 6, 3)]),
    "rearrange-list": (lambda e, x, y: e.rearrange([x, y], "k b n -> b (k n)"), [(2, 3), (2, 3)]),
    "repeat-new-axis": (lambda e, x: e.repeat(x, "b n d -> b k n d", k=3), [(2, 3, 4)]),
    "repeat-tile": (lambda e, x: e.repeat(x, "b n d -> (k b) n (d j)", k=2, j=3), [(2, 3, 4)]),
    **{f"reduce-{r}": ((lambda r: lambda e, x: e.reduce(x, "b (n k) d -> b d", r, k=2))(r), [(2, 6, 4)])
       for r in ("min", "max", "sum", "mean", "prod")},
    "reduce-keep-1": (lambda e, x: e.reduce(x, "b c h w -> b c 1 1", "mean"), [(2, 3, 4, 4)]),
    "einsum": (lambda e, x, y: e.einsum(x, y, "b n d, b m d -> b n m"), [(2, 3, 4), (2, 5, 4)]),
    "einsum-ellipsis": (lambda e, x, w: e.einsum(x, w, "... d, d e -> ... e"), [(2, 3, 4), (4, 5)]),
    "pack": (lambda e, x, y: e.pack([x, y], "b * d")[0], [(2, 3, 4), (2, 4)]),
    "unpack": (lambda e, x: tuple(e.unpack(x, [(2,), (1, 3)], "b * d")), [(2, 5, 4)]),
}


def _torch_values_and_grads(fn, einops, arrays, seed=1):
    import torch

    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(einops, *ts)
    outs = out if isinstance(out, tuple) else (out,)
    seeds = [_x(*o.shape, seed=seed + i) for i, o in enumerate(outs)]
    sum((o * torch.from_numpy(s)).sum() for o, s in zip(outs, seeds)).backward()
    return [o.detach().numpy() for o in outs], [t.grad.numpy() for t in ts], seeds


def _ms_values_and_grads(fn, einops, arrays, seeds):
    import mindspore

    ms_seeds = [mindspore.Tensor(s) for s in seeds]

    def loss(*xs):
        out = fn(einops, *xs)
        outs = out if isinstance(out, tuple) else (out,)
        total = 0
        for o, s in zip(outs, ms_seeds):
            total = total + (o * s).sum()
        return total, outs

    grad_fn = mindspore.value_and_grad(loss, tuple(range(len(arrays))), None, has_aux=True)
    (_, outs), grads = grad_fn(*[mindspore.Tensor(a) for a in arrays])
    grads = grads if isinstance(grads, tuple) else (grads,)
    return [o.asnumpy() for o in outs], [g.asnumpy() for g in grads]


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_function_values_and_gradients_match_torch(name, einops_env):
    fn, shapes = FUNCTIONS[name]
    arrays = [_x(*s, seed=k) for k, s in enumerate(shapes)]
    if name == "reduce-prod":
        arrays = [1 + 0.1 * a for a in arrays]  # products of O(1) numbers, no cancellation
    t_outs, t_grads, seeds = _torch_values_and_grads(fn, einops_env, arrays)
    m_outs, m_grads = _ms_values_and_grads(fn, einops_env, arrays, seeds)
    assert len(m_outs) == len(t_outs)
    for a, b in zip(m_outs, t_outs):
        assert a.shape == b.shape and rel_l2(a, b) <= TOL, (a.shape, b.shape, rel_l2(a, b))
    for a, b in zip(m_grads, t_grads):
        assert a.shape == b.shape and rel_l2(a, b) <= TOL, rel_l2(a, b)


@pytest.mark.parametrize("reduction", ["any", "all"])
def test_bool_reductions_equal_torch(reduction, einops_env):
    import mindspore
    import torch

    b = _x(2, 3, 4) > 0.3
    want = einops_env.reduce(torch.tensor(b), "b n d -> d b", reduction).numpy()
    got = einops_env.reduce(mindspore.Tensor(b), "b n d -> d b", reduction).asnumpy()
    assert got.dtype == np.bool_ and np.array_equal(got, want)


def test_shape_helpers_and_numpy(einops_env):
    import mindspore

    x = mindspore.Tensor(_x(2, 3, 4))
    assert einops_env.parse_shape(x, "b _ d") == {"b": 2, "d": 4}
    assert np.array_equal(einops_env.asnumpy(x), x.asnumpy())
    _, shapes = einops_env.pack([x, x[:, 0]], "b * d")
    assert [tuple(s) for s in shapes] == [(3,), ()]


# name -> (constructor(layers module), input shape); torch's layer and ours take the same arguments
LAYERS = {
    "Rearrange": (lambda L: L.Rearrange("b c (h p) w -> b (h w) (p c)", p=2), (2, 3, 4, 2)),
    "Reduce-max": (lambda L: L.Reduce("b c (h h2) (w w2) -> b c h w", "max", h2=2, w2=2), (2, 3, 4, 4)),
    "Reduce-mean": (lambda L: L.Reduce("b n d -> b d", "mean"), (2, 5, 4)),
    "EinMix": (lambda L: L.EinMix("b n d -> b n e", weight_shape="d e", bias_shape="e", d=4, e=6), (2, 3, 4)),
    "EinMix-regroup": (lambda L: L.EinMix("b (n k) d -> b n (k e)", weight_shape="k d e", bias_shape="k e",
                                          k=2, d=4, e=3), (2, 6, 4)),
    "EinMix-ellipsis": (lambda L: L.EinMix("... n d -> ... e d", weight_shape="n e", n=3, e=5), (2, 3, 4)),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_layers_match_torch_with_its_state_dict(name, einops_env):
    import torch

    import einops.layers.torch as torch_layers

    from backends.mindspore import compat_einops

    make, shape = LAYERS[name]
    torch.manual_seed(0)
    t_layer, m_layer = make(torch_layers), make(compat_einops)
    assert repr(m_layer) == repr(t_layer)
    copy_weights(t_layer, m_layer)  # the same parameter names and shapes as torch's state_dict
    x = _x(*shape)
    out = t_layer(torch.tensor(x))
    seeds = [_x(*out.shape, seed=1)]
    assert_close(torch_run(t_layer, t_layer, [x], seeds), ms_run(m_layer, m_layer, [x], seeds), TOL)


def test_einmix_parameters_are_named_and_initialised_as_torch(einops_env):
    import einops.layers.torch as torch_layers
    import mindspore

    from backends.mindspore import compat_einops

    args = ("b n d -> b n e",)
    kw = dict(weight_shape="d e", bias_shape="e", d=64, e=32)
    mindspore.set_seed(0)
    t, m = torch_layers.EinMix(*args, **kw), compat_einops.EinMix(*args, **kw)
    params = dict(m.parameters_and_names())
    assert sorted(params) == sorted(t.state_dict()) == ["bias", "weight"]
    for name, bound in (("weight", (3 / 64) ** 0.5), ("bias", (1 / 64) ** 0.5)):  # U(-bound, bound), fan_in 64
        w = params[name].asnumpy()
        assert w.shape == tuple(t.state_dict()[name].shape) and np.abs(w).max() <= bound
    w = params["weight"].asnumpy()  # 2048 draws: the range is filled, the mean is ~0 (4 sigma)
    assert np.abs(w).max() > 0.95 * (3 / 64) ** 0.5 and abs(w.mean()) < 0.05 * (3 / 64) ** 0.5
    no_bias = compat_einops.EinMix("b d -> b e", weight_shape="d e", d=4, e=2)
    assert no_bias.bias is None and [n for n, _ in no_bias.parameters_and_names()] == ["weight"]


VIT = '''import torch
from torch import nn
from einops import rearrange, repeat
from einops.layers.torch import EinMix, Rearrange, Reduce


class Attention(nn.Module):
    def __init__(self, dim, heads=2):
        super().__init__()
        self.heads = heads
        self.to_qkv = nn.Linear(dim, dim * 3, bias=False)
        self.to_out = nn.Linear(dim, dim)

    def forward(self, x):
        q, k, v = self.to_qkv(x).chunk(3, dim=-1)
        q, k, v = (rearrange(t, "b n (h d) -> b h n d", h=self.heads) for t in (q, k, v))
        attn = (q @ k.transpose(-1, -2) * q.shape[-1] ** -0.5).softmax(dim=-1)
        return self.to_out(rearrange(attn @ v, "b h n d -> b n (h d)"))


class ViT(nn.Module):
    def __init__(self, image=8, patch=4, channels=3, dim=16, classes=5):
        super().__init__()
        n = (image // patch) ** 2
        self.to_patch = nn.Sequential(Rearrange("b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=patch, p2=patch),
                                      nn.Linear(patch * patch * channels, dim))
        self.cls = nn.Parameter(torch.randn(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, n + 1, dim))
        self.attn = Attention(dim)
        self.mix = EinMix("b n d -> b n e", weight_shape="d e", bias_shape="e", d=dim, e=dim)
        self.pool = Reduce("b n d -> b d", "mean")
        self.head = nn.Linear(dim, classes)

    def forward(self, img):
        x = self.to_patch(img)  # (B, N, D)
        cls = repeat(self.cls, "1 1 d -> b 1 d", b=x.shape[0])
        x = torch.cat((cls, x), dim=1) + self.pos  # (B, N + 1, D)
        x = x + self.attn(x)
        x = x + self.mix(x)
        return self.head(self.pool(x))  # (B, classes)
'''


def test_converted_vit_with_einops_matches_torch(einops_env, tmp_path):
    import torch

    result = convert_source(VIT, "vit.py")
    assert result.diagnostics == [], [d.format() for d in result.diagnostics]
    assert "import torch" not in result.code and "einops.layers.torch" not in result.code
    assert "from backends.mindspore.compat_einops import EinMix, Rearrange, Reduce" in result.code
    assert "from einops import rearrange, repeat" in result.code
    assert convert_source(result.code, "vit.py").code == result.code
    (tmp_path / "torch_vit.py").write_text(VIT)
    (tmp_path / "ms_vit.py").write_text(result.code)
    t_mod = import_file(tmp_path / "torch_vit.py", "torch_einops_vit")
    m_mod = import_file(tmp_path / "ms_vit.py", "ms_einops_vit")
    torch.manual_seed(0)
    t_model, m_model = t_mod.ViT(), m_mod.ViT()
    copy_weights(t_model, m_model)
    x = _x(2, 3, 8, 8)
    seeds = [_x(2, 5, seed=1)]
    assert_close(torch_run(t_model, t_model, [x], seeds), ms_run(m_model, m_model, [x], seeds), 1e-5)


def test_compat_einops_imports_neither_torch_nor_codemods():
    tree = ast.parse((Path(__file__).resolve().parents[2] / "backends/mindspore/compat_einops.py").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert ast.get_docstring(tree)
    assert not any(m.split(".")[0] in ("torch", "codemods") or m == "einops.layers.torch" for m in imported)
