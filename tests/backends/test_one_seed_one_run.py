"""One recipe and seed give one run on both backends: with no `model.init_from`, the MindSpore
backend starts from the torch source's seeded initial weights (built on the CPU), so per-step losses
agree from step 1. fp32 on CPU, tolerance: relative 1e-4 per step (measured below 1e-6).

Also the image-classification recipe (examples/cnn/shapes.yaml: pixel_values + labels batches) on
both backends, and a MindSpore-only host, which uses MindSpore's own init and says so in one line.
"""

import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, needs
from core.launch import train

pytestmark = pytest.mark.mindspore
LOSS_RTOL = 1e-4


def _both(recipe, tmp_path, **overrides):
    needs("torch")
    needs("mindspore")
    runs = {}
    for name in ("torch", "mindspore"):
        ov = {"train.log_every": 0, "train.eval_batches": 1, "train.out_dir": str(tmp_path / name), **overrides}
        runs[name] = train(str(REPO / recipe), backend=name, device="cpu", overrides=ov, log=lambda *a: None)
    t, m = np.array(runs["torch"]["losses"]), np.array(runs["mindspore"]["losses"])
    rel = np.abs(m - t) / np.abs(t)
    assert rel.max() <= LOSS_RTOL, f"max relative loss difference {rel.max():.2e} at step {rel.argmax() + 1}"
    return t


def test_the_tiny_llama_recipe_is_one_run_on_both_backends(tmp_path):
    t = _both("examples/llama/tiny.yaml", tmp_path, **{"train.steps": 20})
    assert len(t) == 20 and t[-1] < t[0] - 1.0


def test_the_image_classification_recipe_trains_on_both_backends(tmp_path):
    t = _both("examples/cnn/shapes.yaml", tmp_path, **{"train.steps": 20, "data.batch_size": 16})
    assert len(t) == 20 and t[-5:].mean() < t[:5].mean()


def test_the_gpt2_recipe_is_one_run_on_both_backends(tmp_path):
    _both("examples/gpt2/tiny.yaml", tmp_path, **{"train.steps": 5, "model.config.n_embd": 32,
                                                  "model.config.block_size": 32, "data.seq_len": 32,
                                                  "data.batch_size": 8})


MINDSPORE_ONLY = """
import sys
sys.modules["torch"] = None  # as on a host where torch is not installed
from core.launch import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_host_without_torch_uses_mindspores_own_init_and_says_so(tmp_path):
    needs("mindspore")
    proc = subprocess.run([sys.executable, "-c", MINDSPORE_ONLY, str(REPO / "examples/llama/tiny.yaml"),
                           "--backend", "mindspore", "--device", "cpu", "--no-progress", "--set", "train.steps=2",
                           "--set", "model.config.n_layers=1", "--set", "train.eval_batches=1",
                           "--out", str(tmp_path / "run")], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    notes = [line for line in proc.stdout.splitlines() if line.startswith("note:")]
    assert notes == ["note: torch is not installed, so the mindspore backend starts from its own random init "
                     "(seed 0); a torch run of this recipe starts from other weights"]
    assert "init: mindspore's own seeded init (seed 0)" in proc.stdout
