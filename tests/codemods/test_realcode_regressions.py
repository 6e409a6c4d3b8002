"""Failures the real-code harness (benchmarks/realcode.py) found, each pinned by a small case: a
ModuleList built from a generator (transformers' DETR head) builds on MindSpore with torch's
parameter names and torch's numbers; einops imports (vit-pytorch, mlp-mixer) map to MindSpore's
einops layers and backend (backends/mindspore/compat_einops.py)."""

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


EINOPS = ("import torch\nfrom einops import rearrange\nfrom einops.layers.torch import Rearrange as R, Reduce\n"
          "import einops, os\nfrom einops.array_api import rearrange as r2\nimport einops.layers.torch\n\n\n"
          "def f(x):\n    from einops.layers.torch import EinMix\n    return torch.frobnicate(x)\n")


def test_einops_layers_map_to_compat_einops_and_functions_get_its_backend():
    """einops.layers.torch -> backends.mindspore.compat_einops (Cells), in place when nested; other einops
    imports kept, plus the import that registers einops' MindSpore backend; what has no MindSpore
    counterpart reported where it stands; converting the output again (torch kept) changes nothing."""
    out = convert_source(EINOPS, "vit.py")
    assert out.code.splitlines()[:7] == [
        "import torch", "from backends.mindspore import compat_einops",
        "from backends.mindspore.compat_einops import Rearrange as R, Reduce", "from einops import rearrange",
        "import einops, os", "from einops.array_api import rearrange as r2", "import einops.layers.torch"]
    assert "    from backends.mindspore.compat_einops import EinMix\n" in out.code
    assert [(d.line, d.code, d.api) for d in out.diagnostics] == [
        (5, "MB003", "einops.array_api"), (6, "MB003", "einops.layers.torch"), (11, "MB002", "torch.frobnicate")]
    assert "array API" in out.diagnostics[0].reason and "torch Modules" in out.diagnostics[1].reason
    assert convert_source(out.code, "vit.py").code == out.code
    plain = convert_source("import torch\nimport einops\ny = einops.rearrange(torch.ones(2, 3), 'a b -> b a')\n")
    assert plain.diagnostics == [] and plain.code.splitlines()[:3] == [
        "from mindspore import mint", "from backends.mindspore import compat_einops", "import einops"]


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


NAMED = '''import torch


def build(data, n, sizes):
    return (torch.LongTensor(data).view(2, 2), torch.FloatTensor(n).shape, torch.FloatTensor(*sizes).shape,
            torch.LongTensor().shape)
'''


def test_a_legacy_constructor_of_a_name_tells_data_from_sizes_at_run_time_like_torch():
    needs("torch")
    needs("mindspore")
    out = convert_source(NAMED, "named.py")  # LeViT: torch.LongTensor(idxs).view(N, N)
    assert not out.diagnostics and "compat.legacy_tensor(data, dtype=mindspore.int64)" in out.code
    ns_t: dict = {}
    exec(compile(NAMED, "named_torch.py", "exec"), ns_t)
    ns_m: dict = {}
    exec(compile(out.code, "named_ms.py", "exec"), ns_m)
    t, m = ns_t["build"]([0, 3, 1, 2], 3, (2, 5)), ns_m["build"]([0, 3, 1, 2], 3, (2, 5))
    assert np.array_equal(t[0].numpy(), m[0].asnumpy()) and str(m[0].dtype) == "Int64"
    assert [tuple(s) for s in t[1:]] == [tuple(s) for s in m[1:]]


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


SCATTERS = '''import torch


def scatters(x2, i2, x1, i1, v1):
    a = torch.scatter(x2, 1, i2, x2 * 2)  # a 2-D scatter first: MindSpore's own then loses later 1-D writes
    b = torch.scatter(x1, 0, i1, v1)
    c = x1.clone()
    c.scatter_(0, i1, v1)
    d = torch.sort(x1, -1)[1]
    return a, b, c, d
'''


def test_scatter_after_a_scatter_of_another_rank_matches_torch():
    needs("torch")
    needs("mindspore")
    import torch

    import mindspore as ms
    import patches.mindspore as pm

    pm.apply()
    try:
        out = convert_source(SCATTERS, "scatters.py")
        assert "mint.scatter" not in out.code and not out.diagnostics
        ns_t: dict = {}
        exec(compile(SCATTERS, "s_torch.py", "exec"), ns_t)
        ns_m: dict = {}
        exec(compile(out.code, "s_ms.py", "exec"), ns_m)
        rng = np.random.default_rng(0)
        x2, x1 = rng.standard_normal((2, 4)).astype(np.float32), rng.standard_normal(5).astype(np.float32)
        i2, i1 = np.array([[1, 0, 3, 2], [2, 3, 1, 0]]), np.array([4, 0, 2])
        v1 = np.array([9.0, 8.0, 7.0], np.float32)
        want = ns_t["scatters"](*(torch.tensor(a) for a in (x2, i2, x1, i1, v1)))
        got = ns_m["scatters"](*(ms.Tensor(a) for a in (x2, i2, x1, i1, v1)))
        for w, g in zip(want, got):
            assert np.array_equal(w.numpy(), g.asnumpy())
    finally:
        pm.revert()
