"""Coverage: every mindspore.mint / mindspore.Tensor / mindspore.ops name the converter's mapping
tables emit (codemods.emitted_names()) runs on CPU (forward, and backward where differentiable)
with the fallback set applied. Probes run in child processes with pynative_synchronize=True
(patches/mindspore/probe.py). A name with neither a CPU kernel nor a fallback fails the test,
unless it is listed in KNOWN_GAPS below with the reason: the list is the honest to-do list
(docs/patches.md), and a listed name that is no longer emitted fails the test too.

    .venv/bin/pytest tests/patches/test_ms_coverage.py -q
    python -m patches.mindspore.probe NAME ...     # probe names by hand
"""

import pytest
from conftest import needs

SCOPE = ("mindspore.mint.", "mindspore.Tensor.", "mindspore.ops.")
# name -> measured reason. The fallbacks for einsum, bincount, histc, index_add, median, unique, conv3d,
# conv_transpose2d, fold/unfold, dropout2d, cosine_embedding_loss, ReflectionPad3d and the Upsampling
# layers closed the earlier gaps (bincount/unique run in PyNative only: data-dependent output shapes).
KNOWN_GAPS: dict[str, str] = {
    "mindspore.ops.cholesky": "forward only: CholeskyGrad has no CPU kernel (torch.cholesky, torch.linalg.cholesky)",
}


def uncovered(names) -> dict[str, str]:
    """name -> why, for every name that neither runs on CPU nor has a fallback (probed in children)."""
    from patches.mindspore.probe import run_probes

    results = run_probes(names, patched=True)
    return {n: f"{r.status}: {r.error}" for n, r in results.items() if r.status in ("fail", "crash", "no-probe")}


def test_every_emitted_name_has_a_cpu_kernel_or_a_fallback():
    needs("mindspore")
    try:
        from codemods import emitted_names
    except ImportError as e:
        pytest.fail(f"codemods.emitted_names() is not importable: {e}")
    names = {n for n in emitted_names() if n.startswith(SCOPE)}
    assert len(names) > 100, "suspiciously few emitted names"
    stale = sorted(set(KNOWN_GAPS) - names)
    assert not stale, f"KNOWN_GAPS lists names the converter no longer emits: {stale}"
    bad = uncovered(names - set(KNOWN_GAPS))
    assert not bad, "emitted names without a CPU kernel or fallback:\n" + "\n".join(f"  {n}  {w}" for n, w in sorted(bad.items()))


def test_uncovered_reports_missing_kernels_and_missing_probes():
    needs("mindspore")
    from patches.mindspore.probe import run_probes

    raw = run_probes(["mindspore.mint.arange", "mindspore.mint.cat", "mindspore.mint.not_a_real_name"], patched=False)
    assert raw["mindspore.mint.arange"].status == "fail" and "Arange" in raw["mindspore.mint.arange"].error
    assert raw["mindspore.mint.cat"].status == "ok"
    assert raw["mindspore.mint.not_a_real_name"].status == "no-probe"
    assert uncovered(["mindspore.mint.arange", "mindspore.mint.cumsum"]) == {}
