"""Real code nobody here wrote, converted and run on MindSpore: the fast subset of benchmarks/realcode.py.

The entries marked `fast: true` in benchmarks/realcode_corpus.yaml use installed packages only
(torch.nn layers, transformers 5.24 building blocks): nothing is downloaded. Each is built tiny on
torch (seeded, every floating weight and buffer perturbed) and on MindSpore from the converted
source, with the torch weights loaded by state_dict names; forward outputs must agree to rel L2
<= 1e-5 and gradients (inputs and parameters) to <= 1e-4, fp32, CPU, PyNative.

    .venv/bin/pytest tests/codemods/test_realcode.py
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from conftest import REPO, needs

sys.path.insert(0, str(REPO / "benchmarks"))

import realcode  # noqa: E402
from realcode_parity import FWD_TOL, GRAD_TOL, compare, perturb  # noqa: E402

CORPUS = realcode.load_corpus()
FAST = realcode.select(CORPUS, None, fast=True)


@pytest.fixture(scope="module")
def ms_ready():
    needs("mindspore")
    needs("torch")
    needs("transformers")
    realcode.prepare_mindspore()
    yield
    import patches.mindspore as pm

    pm.revert()


def test_fast_subset_uses_installed_packages_only():
    assert len(FAST) >= 4
    for entry in FAST:
        assert not CORPUS["packages"][entry["package"]].get("fetch"), entry["name"]


@pytest.mark.mindspore
@pytest.mark.parametrize("entry", FAST, ids=[e["name"] for e in FAST])
def test_converted_real_code_matches_torch(entry, ms_ready, tmp_path):
    row = realcode.run_entry(entry, CORPUS, tmp_path, tmp_path / "work")
    assert row["ran"], f"{row['stage']}: {row['error']}"
    assert row["fwd"] is not None and row["fwd"] <= FWD_TOL, row
    assert row["grad"] is not None and row["grad"] <= GRAD_TOL, row  # every fast entry has gradients
    assert row["parity"], row


@pytest.mark.mindspore
def test_a_wrong_weight_fails_parity(ms_ready, tmp_path):
    """The comparison can fail: one converted weight off by 1e-3 is caught."""
    import mindspore as ms

    entry = next(e for e in FAST if e["name"] == "transformers.llama.LlamaRMSNorm")
    root, module = realcode.prepare(entry, CORPUS, tmp_path, tmp_path / "work")
    t_mod = realcode.load_torch_module(root, module)
    m_mod, _ = realcode.load_converted_module(root, module, tmp_path / "converted", tag="wrong-weight")

    def tamper(model):
        p = model.trainable_params()[0]
        p.set_data(p + ms.Tensor(np.full(p.shape, 1e-3, np.float32)))

    assert compare(entry, t_mod, m_mod).ok
    bad = compare(entry, t_mod, m_mod, after_load=tamper)
    assert not bad.ok and bad.fwd > FWD_TOL


def test_perturbation_moves_zero_init_and_batchnorm_state():
    """Zero-initialised weights and BatchNorm's 0/1 statistics are perturbed (running_var stays > 0)."""
    needs("torch")
    import torch

    bn = torch.nn.BatchNorm2d(8)
    gate = torch.nn.Linear(4, 4)
    torch.nn.init.zeros_(gate.weight)
    perturb(bn, 1)
    perturb(gate, 1)
    assert bn.running_mean.abs().min() > 0 and (bn.running_var - 1).abs().min() > 0
    assert bn.running_var.min() > 0
    assert (bn.weight - 1).abs().min() > 0 and bn.bias.abs().min() > 0
    assert gate.weight.abs().min() > 0
    assert bn.num_batches_tracked.item() == 0  # integer buffers untouched


def test_extract_keeps_verbatim_definitions_and_drops_foreign_decorators():
    needs("transformers")
    from realcode_load import extract_definitions

    src = (realcode.site_of("transformers", CORPUS, REPO) / "transformers/models/llama/modeling_llama.py").read_text()
    text = extract_definitions(src, ["LlamaRMSNorm"], "transformers/models/llama/modeling_llama.py")
    assert "class LlamaRMSNorm(nn.Module):" in text
    assert "use_kernel_forward_from_hub" not in text  # a decorator from a dropped relative import
    assert "from ..." not in text and "import torch" in text


GATE = '''import torch
from torch import nn


class Gate(nn.Module):
    """Attention pooling over positions (timm's GlobalContext): the logits' bias shifts every position
    alike, so the softmax removes it and its gradient is zero in exact arithmetic."""

    def __init__(self, c):
        super().__init__()
        self.logits = nn.Conv2d(c, 1, kernel_size=1)

    def forward(self, x):
        b, c, h, w = x.shape
        attn = self.logits(x).reshape(b, 1, h * w).softmax(dim=-1)  # (b, 1, h*w)
        return (x.reshape(b, c, h * w) * attn).sum(-1)  # (b, c)
'''


@pytest.mark.mindspore
def test_a_gradient_that_is_zero_in_exact_arithmetic_is_compared_as_a_zero(ms_ready, tmp_path):
    """fp32 noise on both sides differs by ~100%: the harness compares it against 1e-5 of the largest
    gradient instead, and says so in the row's notes."""
    from codemods import convert_source
    from ms_exec import import_file

    (tmp_path / "gate_torch.py").write_text(GATE, encoding="utf-8")
    (tmp_path / "gate_ms.py").write_text(convert_source(GATE, "gate.py").code, encoding="utf-8")
    t_mod, m_mod = import_file(tmp_path / "gate_torch.py", "gate_torch"), import_file(tmp_path / "gate_ms.py", "gate_ms")
    result = compare({"build": "Gate(4)", "inputs": [[2, 4, 3, 3]]}, t_mod, m_mod)
    assert result.ok, result.notes
    assert any(note.startswith("gradient logits.bias is zero to fp32 rounding") for note in result.notes), result.notes
    assert result.fwd <= FWD_TOL and result.grad <= GRAD_TOL
