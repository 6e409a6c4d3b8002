"""Cross-backend parity of the other example models (examples/gpt2, examples/cnn): forward, every
module's output and every gradient at step 0, then 10 AdamW steps (loss per step, weights and
buffers after), fp32 on CPU, with core.parity_models on the converted code.

The CNN takes images and class labels, which core.data (token batches) cannot feed, so both models
are driven directly with numpy batches; GPT-2's batches come from core.data like a recipe's. The
GPT-2 recipe through `python -m core.parity` is the last test.

    .venv/bin/pytest tests/parity/test_parity_models.py
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, needs

pytestmark = [pytest.mark.parity, pytest.mark.mindspore]

MODELS = {
    "gpt2": ("examples/gpt2/model.py", "GPT", dict(block_size=32, n_layer=2, n_head=4, n_embd=32, dropout=0.0)),
    "cnn": ("examples/cnn/model.py", "SmallCNN", dict(in_channels=3, num_classes=10, width=8)),
}
STEPS = 10


def _import(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _pair(name, tmp_path):
    """The torch model and its conversion, loaded under private module names, with equal weights."""
    needs("torch")
    needs("mindspore")
    import mindspore as ms
    import torch

    import patches.mindspore
    from codemods import convert_source
    from core.parity_models import copy_weights

    from backends.mindspore.device import use_target

    use_target("CPU")  # as the MindSpore backend does, before the first kernel runs
    ms.set_context(mode=ms.PYNATIVE_MODE)
    patches.mindspore.apply("CPU")
    path, cls, config = MODELS[name]
    result = convert_source((REPO / path).read_text(), path)
    assert [d.format() for d in result.diagnostics if d.level == "error"] == []
    converted = tmp_path / f"parity_{name}_ms.py"
    converted.write_text(result.code)
    torch.manual_seed(0)
    t_model = getattr(_import(REPO / path, f"parity_{name}_torch"), cls)(**config)
    m_model = getattr(_import(converted, f"parity_{name}_ms"), cls)(**config)
    copy_weights(t_model, m_model)
    return t_model, m_model


def _batches(name):
    if name == "gpt2":
        from core.data import load_data

        data = load_data("embedded", 32, 8, 0.05, seed=0)
        return [(b.input_ids, b.labels) for b in (data.train_batch(s, 0) for s in range(STEPS))]
    rng = np.random.default_rng(0)  # images: a pattern per class plus noise, so the loss can fall
    patterns = rng.standard_normal((10, 3, 16, 16)).astype(np.float32)
    batches = []
    for _ in range(STEPS):
        labels = rng.integers(0, 10, size=8, dtype=np.int64)
        batches.append((patterns[labels] + 0.5 * rng.standard_normal((8, 3, 16, 16)).astype(np.float32), labels))
    return batches


@pytest.mark.parametrize("name", list(MODELS))
def test_converted_example_matches_torch(name, tmp_path):
    from core.parity_models import compare_models
    from core.parity_report import write_report

    t_model, m_model = _pair(name, tmp_path)
    rep = compare_models(t_model, m_model, _batches(name), lr=1e-3, weight_decay=0.1, name=name)
    files = write_report(rep, tmp_path / "report")
    c = rep["checks"]
    summary = (f"{name}: failed {rep['failed']}; first divergent {c['layers']['first_divergent']}; "
               f"forward {c['forward']['rel_l2']:.1e}; worst grad {c['grads']['worst']}; see {files['md']}")
    assert rep["ok"], summary
    assert c["layers"]["missing"] == [] and len(c["layers"]["modules"]) > 10
    assert len(c["losses"]["torch"]) == STEPS and c["losses"]["torch"][-1] < c["losses"]["torch"][0]
    if name == "cnn":  # BatchNorm running statistics moved the same way on both sides
        assert "stem.1.running_mean" in c["params"]["per_name"]
        assert c["params"]["per_name"]["stem.1.num_batches_tracked"]["max_abs"] == 0
    assert files["png"].is_file()


def test_gpt2_recipe_through_the_cli(tmp_path):
    needs("torch")
    needs("mindspore")
    path, _, config = MODELS["gpt2"]
    recipe = tmp_path / "gpt2.yaml"
    recipe.write_text(json.dumps({"model": {"source": f"{REPO / path}:GPT", "config": config},
                                  "data": {"seq_len": 32, "batch_size": 8},
                                  "train": {"eval_batches": 1}, "schedule": {"warmup_steps": 3}}))
    proc = subprocess.run([sys.executable, "-m", "core.parity", str(recipe), "--steps", str(STEPS), "--out",
                           str(tmp_path / "out")], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert json.loads((tmp_path / "out/report.json").read_text())["ok"]
