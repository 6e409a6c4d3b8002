"""Cross-backend parity of the other example models (examples/gpt2, examples/cnn): forward, every
module's output and every gradient at step 0, then 10 AdamW steps (loss per step, weights and
buffers after), fp32 on CPU, with core.parity.models on the converted code, fed batches (named
numpy arrays) from core.data directly. The recipes of both examples through `python -m core.parity`
are the last tests.

    .venv/bin/pytest tests/parity/test_parity_models.py
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from conftest import REPO, needs

pytestmark = [pytest.mark.parity, pytest.mark.mindspore]

MODELS = {
    "gpt2": ("examples/gpt2/model.py", "GPT", dict(block_size=32, n_layer=2, n_head=4, n_embd=32, dropout=0.0)),
    "cnn": ("examples/cnn/model.py", "SmallCNN", dict(in_channels=3, num_classes=4, width=8)),
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
    from core.parity.models import copy_weights

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
    from core.data import load_data

    source = "embedded" if name == "gpt2" else "shapes"
    data = load_data(source, seq_len=32, batch_size=8, val_fraction=0.05, seed=0, image_size=16)
    return [data.train_batch(s, 0) for s in range(STEPS)]


@pytest.mark.parametrize("name", list(MODELS))
def test_converted_example_matches_torch(name, tmp_path):
    from core.parity.models import compare_models
    from core.parity.report import write_report

    t_model, m_model = _pair(name, tmp_path)
    lr = 1e-3 if name == "gpt2" else 1e-2  # the CNN needs the larger step to learn the shapes within 10 steps
    rep = compare_models(t_model, m_model, _batches(name), lr=lr, weight_decay=0.1, name=name)
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


RECIPES = {"gpt2": ("examples/gpt2/tiny.yaml", ["model.config.block_size=32", "model.config.n_embd=32",
                                               "data.seq_len=32", "data.batch_size=8"]),
           "cnn": ("examples/cnn/shapes.yaml", ["data.batch_size=8"])}


@pytest.mark.parametrize("name", list(RECIPES))
def test_example_recipe_through_the_cli(name, tmp_path):
    needs("torch")
    needs("mindspore")
    recipe, sets = RECIPES[name]
    sets = sets + ["train.eval_batches=1", "schedule.warmup_steps=3"]
    proc = subprocess.run([sys.executable, "-m", "core.parity", str(REPO / recipe), "--steps", str(STEPS), "--out",
                           str(tmp_path / "out"), *[a for s in sets for a in ("--set", s)]], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert json.loads((tmp_path / "out/report.json").read_text())["ok"]
