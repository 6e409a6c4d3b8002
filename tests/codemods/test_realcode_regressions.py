"""Failures the real-code harness (benchmarks/realcode.py) found, each pinned by a small case: a
ModuleList built from a generator (transformers' DETR head) builds on MindSpore with torch's
parameter names and torch's numbers; an einops import (vit-pytorch, mlp-mixer) is reported at the
import instead of failing at run time."""

import numpy as np

from codemods import convert_source
from conftest import needs

HEAD = '''import torch.nn as nn
import torch.nn.functional as F


class Head(nn.Module):
    def __init__(self, dims=(4, 8, 3)):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(n, k) for n, k in zip(dims, dims[1:]))

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = F.relu(layer(x)) if i < len(self.layers) - 1 else layer(x)
        return x
'''


def test_module_list_of_a_generator_matches_torch(tmp_path):
    needs("torch")
    needs("mindspore")
    import torch

    import mindspore as ms

    out = convert_source(HEAD, "head.py")
    assert not out.diagnostics and "nn.CellList(list(" in out.code
    torch.manual_seed(0)
    ns_t: dict = {}
    exec(compile(HEAD, "head_torch.py", "exec"), ns_t)
    ns_m: dict = {}
    exec(compile(out.code, "head_ms.py", "exec"), ns_m)
    t, m = ns_t["Head"](), ns_m["Head"]()
    params = dict(m.parameters_and_names())
    assert sorted(params) == sorted(t.state_dict())  # torch's names: layers.0.weight, ...
    for name, value in t.state_dict().items():
        params[name].set_data(ms.Tensor(value.numpy()))
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    want = t(torch.tensor(x)).detach().numpy()
    got = m(ms.Tensor(x)).asnumpy()
    assert np.linalg.norm(got - want) <= 1e-6 * np.linalg.norm(want)  # fp32, relative L2


def test_einops_imports_are_reported_where_they_stand():
    source = ("import torch\nfrom einops import rearrange\nfrom einops.layers.torch import Rearrange\n"
              "import einops, os\n")
    diags = convert_source(source, "vit.py").diagnostics
    assert [(d.line, d.code, d.api) for d in diags] == [(2, "MB003", "einops"), (3, "MB003", "einops.layers.torch"),
                                                        (4, "MB003", "einops")]
    assert all("no MindSpore backend" in d.reason for d in diags)


LEGACY = '''import torch


def build():
    return (torch.LongTensor([[0, 2], [1, 3]]), torch.FloatTensor([0.5, 1.5]), torch.BoolTensor(list([True, False])),
            torch.FloatTensor(2, 3).shape, torch.IntTensor(4).dtype)
'''


def test_legacy_typed_tensor_constructors_match_torch():
    needs("torch")
    needs("mindspore")
    import torch

    import mindspore as ms

    out = convert_source(LEGACY, "legacy.py")
    assert not out.diagnostics and "torch" not in out.code.replace("import torch", "")
    ns_t: dict = {}
    exec(compile(LEGACY, "legacy_torch.py", "exec"), ns_t)
    ns_m: dict = {}
    exec(compile(out.code, "legacy_ms.py", "exec"), ns_m)
    t, m = ns_t["build"](), ns_m["build"]()
    for a, b in zip(t[:3], m[:3]):
        assert np.array_equal(a.numpy(), b.asnumpy()) and str(a.dtype).split(".")[1] == str(b.dtype).lower()
    assert tuple(t[3]) == tuple(m[3]) and m[4] == ms.int32


def test_a_legacy_constructor_of_a_name_is_reported():
    diags = convert_source("import torch\n\ndef f(n):\n    return torch.FloatTensor(n)\n", "a.py").diagnostics
    assert [(d.line, d.code) for d in diags] == [(4, "MB209")]


def test_where_takes_a_uint8_condition_like_torch():
    needs("torch")
    needs("mindspore")
    import torch

    import mindspore as ms
    import patches.mindspore as pm
    from mindspore import mint

    pm.apply("CPU")
    cond = np.array([[1, 0, 2], [0, 0, 1]], np.uint8)
    a, b = np.arange(6, dtype=np.float32).reshape(2, 3), -np.ones((2, 3), np.float32)
    want = torch.where(torch.tensor(cond), torch.tensor(a), torch.tensor(b)).numpy()
    got = mint.where(ms.Tensor(cond), ms.Tensor(a), ms.Tensor(b)).asnumpy()
    assert np.array_equal(got, want)
