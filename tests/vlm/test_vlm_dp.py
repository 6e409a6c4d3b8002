"""Data parallel with image-text batches: 2 torch processes (torchrun, gloo, CPU) against one process with
grad_accum=2 on the same global batch, the tiny Qwen2-VL nothing frozen, one row per micro-batch, so that
some steps give one rank a text-only row (its vision tower then has no gradient: DDP runs with
find_unused_parameters for image-text models). Per-step loss within 1e-5 relative (fp32).

    CI=true .venv/bin/python -m pytest -q tests/vlm/test_vlm_dp.py
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from conftest import REPO, needs

RECIPE = REPO / "examples" / "vlm" / "tiny_vlm.yaml"
SETTINGS = {"train.steps": 5, "train.log_every": 1, "data.batch_size": 1, "model.freeze": "[]",
            "schedule.warmup_steps": 1}
REL = 1e-5


def _losses(out) -> list[float]:
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [r["loss"] for r in rows if "loss" in r]


def test_torch_dp2_with_text_only_ranks_matches_one_process(tmp_path):
    needs("torch")
    needs("transformers")
    from core.data import recipe_data
    from core.launch import resolve_recipe

    sets = [a for k, v in SETTINGS.items() for a in ("--set", f"{k}={v}")]
    base = [sys.executable, "-m", "core.launch", str(RECIPE), "--device", "cpu", "--no-progress", *sets]
    dp = subprocess.run([*base, "--nproc", "2", "--out", str(tmp_path / "dp2")], capture_output=True, text=True,
                        timeout=300, cwd=REPO)
    assert dp.returncode == 0, dp.stdout[-2000:] + dp.stderr[-2000:]
    one = subprocess.run([*base, "--set", "train.grad_accum=2", "--out", str(tmp_path / "one")], capture_output=True,
                         text=True, timeout=300, cwd=REPO)
    assert one.returncode == 0, one.stdout[-2000:] + one.stderr[-2000:]
    data = recipe_data(resolve_recipe(str(RECIPE), "torch", "cpu", {"data.batch_size": 1}))
    images = [[int(data.train_batch(step, rank)["image_mask"].sum()) for rank in (0, 1)] for step in range(5)]
    assert any(0 in s and max(s) > 0 for s in images), images  # a step where one rank has no image, the other has
    a, b = np.asarray(_losses(tmp_path / "dp2")), np.asarray(_losses(tmp_path / "one"))
    assert len(a) == len(b) == 5
    assert float(np.max(np.abs(a - b) / np.abs(b))) <= REL, (a, b)
