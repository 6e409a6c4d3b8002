"""Real-code failure classes that cross a file or a call boundary, each pinned by a small package
converted with the CLI and run on MindSpore against torch (fp32, relative L2 <= 1e-6):

- torch aliases that reach a file only through a relative star import (timm's `create_act.py`
  gets `torch`, `nn`, `F` from `from .activations import *`);
- a nested `from torch import _assert` re-exported to a sibling (timm's `trace_utils.py`);
- `nn.Linear(a, b, **dd)` with `dd = {"device": ..., "dtype": ...}` (timm's factory kwargs);
- `self.x = nn.Buffer(t, persistent=False)` stays out of the state_dict (BertEmbeddings);
- `tensor.uniform_(-s, s)` on a plain tensor inside a helper (Linformer's `init_`).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from codemods import convert_source
from conftest import needs
from ms_exec import import_file, ms_env  # noqa: F401 - fixture

REPO = Path(__file__).resolve().parents[2]

PACKAGE = {
    "__init__.py": "",
    "activations.py": '''
        import torch
        from torch import nn as nn
        from torch.nn import functional as F


        def swish(x):
            return x * torch.sigmoid(x)
        ''',
    "factory.py": '''
        from .activations import *

        _has_silu = "silu" in dir(torch.nn.functional)
        ACTS = dict(silu=F.silu if _has_silu else swish, relu=F.relu, gelu=nn.GELU)
        ''',
    "trace_utils.py": '''
        try:
            from torch import _assert
        except ImportError:
            def _assert(condition, message):
                assert condition, message
        ''',
    "model.py": '''
        import math

        import torch
        import torch.nn as nn

        from .factory import ACTS
        from .trace_utils import _assert


        def init_(tensor):
            std = 1 / math.sqrt(tensor.shape[-1])
            tensor.uniform_(-std, std)
            return tensor


        class Block(nn.Module):
            def __init__(self, dim=4, device=None, dtype=None):
                super().__init__()
                dd = {"device": device, "dtype": dtype}
                self.fc = nn.Linear(dim, 2 * dim, **dd)
                self.norm = nn.LayerNorm(2 * dim, **dd)
                self.act = ACTS["gelu"]()
                self.proj = nn.Parameter(init_(torch.zeros(2 * dim, dim)))
                self.register_buffer("scale", torch.full((dim,), 0.5), persistent=False)
                self.offset = nn.Buffer(torch.arange(dim).float(), persistent=False)

            def forward(self, x):
                _assert(x.shape[-1] == self.fc.in_features, "wrong width")
                h = ACTS["silu"](self.norm(self.fc(x)))
                return self.act(h) @ self.proj * self.scale + self.offset
        ''',
}


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    root = tmp_path_factory.mktemp("cross")
    src = root / "src" / "pkg"
    src.mkdir(parents=True)
    for name, text in PACKAGE.items():
        (src / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    out = root / "out"
    run = subprocess.run([sys.executable, "-m", "codemods.convert", str(root / "src"), "-o", str(out)],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    return root / "src", out, run.stdout


def test_star_imported_torch_aliases_are_converted_where_they_are_used(package):
    _, out, _ = package
    factory = (out / "pkg" / "factory.py").read_text(encoding="utf-8")
    assert "torch" not in factory, factory
    # the MindSpore imports come after the star import, so they win over the names it binds
    assert factory.index("from .activations import *") < factory.index("from mindspore")
    again = convert_source(factory, "factory.py", origin=out / "pkg" / "factory.py")
    assert not again.changed  # converting converted output changes nothing


def test_a_star_import_line_keeps_its_line_numbers_in_diagnostics(tmp_path):
    (tmp_path / "base.py").write_text("import torch\n", encoding="utf-8")
    user = tmp_path / "user.py"
    user.write_text("from .base import *  # re-exports torch\n\n\ny = torch.no_such_api(1)\n", encoding="utf-8")
    result = convert_source(user.read_text(encoding="utf-8"), str(user), origin=user)
    assert [(d.line, d.code, d.api) for d in result.diagnostics] == [(4, "MB002", "torch.no_such_api")]
    assert "# re-exports torch" in result.code and user.read_text(encoding="utf-8").startswith("from .base import *  #")


def test_all_limits_what_a_star_import_brings_in(tmp_path):
    (tmp_path / "base.py").write_text("import torch\nimport torch.nn as nn\n__all__ = ['nn']\n", encoding="utf-8")
    user = tmp_path / "user.py"
    user.write_text("from .base import *\n\nx = nn.ReLU()\ny = torch.ones(2)\n", encoding="utf-8")
    result = convert_source(user.read_text(encoding="utf-8"), str(user), origin=user)
    assert "mint.nn.ReLU()" in result.code and "torch.ones(2)" in result.code  # `torch` is not exported


def test_a_nested_torch_import_keeps_binding_the_mapped_name(package):
    _, out, _ = package
    trace = (out / "pkg" / "trace_utils.py").read_text(encoding="utf-8")
    assert "from backends.mindspore.compat import _assert" in trace, trace


def test_the_package_matches_torch_on_mindspore(package, ms_env):
    import torch

    src, out, _ = package
    sys.path.insert(0, str(src))
    try:
        torch_model = import_file(src / "pkg" / "model.py", "pkg.model")
    finally:
        sys.path.remove(str(src))
        for name in [m for m in sys.modules if m == "pkg" or m.startswith("pkg.")]:
            del sys.modules[name]
    sys.path.insert(0, str(out))
    try:
        ms_model = import_file(out / "pkg" / "model.py", "pkg.model")
        torch.manual_seed(0)
        t = torch_model.Block()
        m = ms_model.Block()
    finally:
        sys.path.remove(str(out))
        for name in [k for k in sys.modules if k == "pkg" or k.startswith("pkg.")]:
            del sys.modules[name]

    from backends.mindspore.state import ParameterIndex

    index = ParameterIndex(m)
    assert sorted(index.entries) == sorted(t.state_dict())  # no `scale`/`offset`: they are not persistent
    proj = m.proj.asnumpy()  # init_ wrote into the plain tensor before it became a Parameter
    assert 0 < np.abs(proj).max() <= 1 / np.sqrt(4) and np.unique(proj).size > 1
    index.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    want = t(torch.tensor(x)).detach().numpy()
    got = m(ms_env.Tensor(x)).asnumpy()
    assert np.linalg.norm(got - want) <= 1e-6 * np.linalg.norm(want)
    with pytest.raises(AssertionError, match="wrong width"):
        m(ms_env.Tensor(np.zeros((3, 5), np.float32)))
