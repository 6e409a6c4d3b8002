"""Cross-backend parity of the shipped image-text recipes through core.parity (torch vs MindSpore
PyNative, fp32, CPU, the same initial weights and batches): forward logits within 1e-5 relative L2,
gradients 1e-4, per-step losses 1e-4 relative, weights after the steps 1e-3; and `--layers` naming the
first module of a deliberately broken vision block.

    CI=true .venv/bin/python -m pytest -q tests/vlm/test_vlm_parity.py
"""

from __future__ import annotations

import pytest

from conftest import REPO, needs

pytestmark = [pytest.mark.parity, pytest.mark.mindspore]
VLM = REPO / "examples" / "vlm"
BROKEN = "model.visual.blocks.1.norm2"  # given a wrong epsilon on the MindSpore side only


@pytest.mark.parametrize("recipe, steps", [("tiny_vlm.yaml", 6), ("tiny_llava.yaml", 4)])
def test_shipped_recipe_matches_across_backends(tmp_path, recipe, steps):
    needs("torch")
    needs("mindspore")
    from core.parity import run_parity

    rep = run_parity(str(VLM / recipe), steps=steps, layers=True, out=tmp_path, log=lambda *a: None)
    c = rep["checks"]
    print(f"{recipe}: forward {c['forward']['rel_l2']:.1e}, loss max rel {c['losses']['max_rel']:.1e} over "
          f"{steps} steps, weights {c['params'].get('worst_rel_l2', 'ok')}")
    assert rep["ok"], rep["failed"]
    assert c["forward"]["rel_l2"] <= 1e-5 and c["losses"]["max_rel"] <= 1e-4
    assert len(c["losses"]["torch"]) == len(c["losses"]["mindspore"]) == steps
    assert c["grads"]["missing"] == [] == c["grads"]["unexpected"] and c["layers"]["first_divergent"] is None


def test_layers_names_the_broken_vision_block(tmp_path):
    needs("torch")
    needs("mindspore")
    from core.parity import run_parity

    rep = run_parity(str(VLM / "tiny_vlm.yaml"), steps=0, layers=True, out=tmp_path, ms_attrs=[f"{BROKEN}.eps=0.5"],
                     log=lambda *a: None)
    lay = rep["checks"]["layers"]
    assert not rep["ok"] and "layers" in rep["failed"]
    assert lay["first_divergent"] == BROKEN and lay["missing"] == []
    names = [m["name"] for m in lay["modules"]]
    assert all(m["ok"] for m in lay["modules"][:names.index(BROKEN)])  # everything before it agrees
    assert f"First module whose output diverges: `{BROKEN}`" in (tmp_path / "report.md").read_text()
