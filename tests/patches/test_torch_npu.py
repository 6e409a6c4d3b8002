"""torch_npu fused-kernel set: pure-torch references vs torch on CPU (fwd + grad), the routing
wrappers leave CPU results unchanged, apply() is a no-op without an NPU, and the NPU path itself
(skipped here with the reason).

    .venv/bin/pytest tests/patches/test_torch_npu.py -q
"""

import math

import pytest
from conftest import needs

from patches.manager import PatchManager
from patches.torch_npu import fused


@pytest.fixture(autouse=True)
def _torch():
    needs("torch")


def _rel(a, b):
    return float((a - b).norm() / b.norm())


def _check(ref_fn, torch_fn, *inputs, tol=1e-6):
    import torch

    a = [t.clone().requires_grad_(t.is_floating_point()) for t in inputs]
    b = [t.clone().requires_grad_(t.is_floating_point()) for t in inputs]
    ra, rb = ref_fn(*a), torch_fn(*b)
    assert _rel(ra, rb) <= tol
    cot = torch.rand_like(rb)
    ga = torch.autograd.grad((ra * cot).sum(), [t for t in a if t.requires_grad])
    gb = torch.autograd.grad((rb * cot).sum(), [t for t in b if t.requires_grad])
    for x, y in zip(ga, gb):
        assert _rel(x, y) <= tol


def test_rms_norm_reference_matches_torch():
    import torch

    x, w = torch.randn(2, 5, 16), torch.randn(16)
    _check(lambda x, w: fused.rms_norm_reference(x, (16,), w, 1e-5),
           lambda x, w: torch.nn.functional.rms_norm(x, (16,), w, 1e-5), x, w)
    _check(lambda x: fused.rms_norm_reference(x, (5, 16)), lambda x: torch.nn.functional.rms_norm(x, (5, 16)), x)


def test_rotary_reference_matches_llama_example():
    import torch

    from examples.llama.model import apply_rope, rope_tables

    cos, sin = rope_tables(8, 6, 10000.0)
    x = torch.randn(2, 4, 6, 8)
    _check(lambda x: fused.rotary_reference(x, cos, sin), lambda x: apply_rope(x, cos, sin), x)


def test_swiglu_reference_matches_silu_gate():
    import torch

    x = torch.randn(3, 5, 12)
    _check(lambda x: fused.swiglu_reference(x), lambda x: torch.nn.functional.silu(x[..., :6]) * x[..., 6:], x)


@pytest.mark.parametrize("variant", ["causal", "bool_mask", "float_mask", "scale", "gqa"])
def test_attention_reference_matches_sdpa(variant):
    import torch

    F = torch.nn.functional
    q, k, v = torch.randn(2, 4, 6, 8), torch.randn(2, 4, 6, 8), torch.randn(2, 4, 6, 8)
    kw = {
        "causal": {"is_causal": True},
        "bool_mask": {"attn_mask": torch.rand(6, 6) > 0.3},
        "float_mask": {"attn_mask": torch.randn(2, 1, 6, 6)},
        "scale": {"scale": 0.3, "is_causal": True},
        "gqa": {"enable_gqa": True, "is_causal": True},
    }[variant]
    if variant == "bool_mask":
        kw["attn_mask"][:, 0] = True  # no fully masked row (both give NaN there)
    if variant == "gqa":
        k, v = k[:, :2].contiguous(), v[:, :2].contiguous()
    _check(lambda q, k, v: fused.attention_reference(q, k, v, **kw), lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kw),
           q, k, v, tol=2e-6)


def test_routing_wrappers_keep_cpu_results_and_revert_exactly():
    """Patch the real torch functions (conditions aside) and run the example Llama on CPU."""
    import torch

    from examples.llama.model import Llama

    F = torch.nn.functional
    orig_sdpa, orig_rms = F.scaled_dot_product_attention, F.rms_norm
    torch.manual_seed(0)
    model = Llama(dim=32, n_layers=1, n_heads=4, n_kv_heads=2, hidden_dim=64, max_seq_len=16)
    ids = torch.randint(0, 256, (2, 16))
    before = model(ids, labels=ids)
    m = PatchManager()
    m.register("torch.nn.functional.scaled_dot_product_attention", wrapper=fused.route_attention, name="sdpa")
    m.register("torch.nn.functional.rms_norm", wrapper=fused.route_rms_norm, name="rms")
    m.register("examples.llama.model.apply_rope", wrapper=fused.route_rotary, name="rope")
    assert m.apply() == ["sdpa", "rms", "rope"]
    assert F.scaled_dot_product_attention is not orig_sdpa
    assert torch.equal(model(ids, labels=ids), before)
    x = torch.randn(2, 3, 8)
    assert torch.equal(F.rms_norm(x, (8,), None, 1e-6), orig_rms(x, (8,), None, 1e-6))
    m.revert()
    assert F.scaled_dot_product_attention is orig_sdpa and F.rms_norm is orig_rms


def test_apply_without_npu_changes_nothing_and_says_why():
    import torch

    import patches.torch_npu as npu

    if npu.why_not():  # no NPU (always the case on CPU-only hosts)
        orig = torch.nn.functional.scaled_dot_product_attention
        assert npu.apply(enabled=True) == []
        assert torch.nn.functional.scaled_dot_product_attention is orig
        assert npu.why_not()
    assert npu.apply(enabled=False) == []
    with pytest.raises(ValueError, match="unknown fused kernel kind"):
        npu.apply(True, targets={"flash": ["x.y"]})


def test_npu_fused_kernels_match_references():
    import patches.torch_npu as npu

    reason = npu.why_not()
    if reason:
        pytest.skip(f"no NPU here: {reason}")
    import torch

    dev = torch.device("npu")
    x, w = torch.randn(2, 5, 16, device=dev), torch.randn(16, device=dev)
    route = fused.route_rms_norm(torch.nn.functional.rms_norm)
    assert _rel(route(x, (16,), w, 1e-5), fused.rms_norm_reference(x, (16,), w, 1e-5)) < 1e-3
    q = torch.randn(2, 4, 8, 16, device=dev)
    att = fused.route_attention(torch.nn.functional.scaled_dot_product_attention)
    assert _rel(att(q, q, q, is_causal=True), fused.attention_reference(q, q, q, is_causal=True)) < 1e-3
    cos, sin = torch.randn(8, 16, device=dev), torch.randn(8, 16, device=dev)
    rot = fused.route_rotary(fused.rotary_reference)
    assert _rel(rot(q, cos, sin), fused.rotary_reference(q, cos, sin)) < 1e-3
    s = torch.randn(2, 8, 32, device=dev)
    assert _rel(fused.route_swiglu(fused.swiglu_reference)(s), fused.swiglu_reference(s)) < 1e-3
    assert math.isfinite(float(att(q, q, q).sum()))
