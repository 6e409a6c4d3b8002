"""checkpoint.load_optimizer / load_rng / save_optimizer and their MindSpeed flags (--no-load-optim,
--no-load-rng, --no-save-optim, --save-interval), on real torch runs of the tiny Llama (fp32, CPU)."""

import subprocess
import sys

import pytest
from safetensors import safe_open

from conftest import REPO, needs
from core.errors import CheckpointError
from core.launch import train

TINY = str(REPO / "examples/llama/tiny.yaml")
SMALL = {"model.config.dim": 32, "model.config.n_layers": 1, "model.config.hidden_dim": 64, "data.seq_len": 16,
         "data.batch_size": 2, "train.log_every": 1, "train.eval_every": 0, "train.eval_batches": 1,
         "schedule.kind": "constant", "schedule.warmup_steps": 0, "checkpoint.keep_last": 0}


def run(out, steps, log=None, **extra):
    ov = {**SMALL, "train.out_dir": str(out), "train.steps": steps, **{k.replace("__", "."): v for k, v in extra.items()}}
    return train(TINY, backend="torch", device="cpu", overrides=ov, log=log or (lambda *a: None))


def optimizer_tensors(step_dir):
    with safe_open(str(step_dir / "optimizer.safetensors"), "np") as fh:
        return len(list(fh.keys()))


def test_save_optimizer_false_writes_weights_only_and_resume_asks_for_no_load_optim(tmp_path):
    needs("torch")
    full = run(tmp_path / "full", 6)
    run(tmp_path / "lean", 3, checkpoint__save_optimizer=False)
    step = tmp_path / "lean/checkpoints/step_00000003"
    assert optimizer_tensors(step) == 0 and optimizer_tensors(tmp_path / "full/checkpoints/step_00000006") > 0
    with pytest.raises(CheckpointError) as e:
        run(tmp_path / "lean", 6, checkpoint__resume="auto")
    assert str(e.value) == (f"{step} holds no optimizer state (saved with checkpoint.save_optimizer: false); "
                            "resume with --no-load-optim (checkpoint.load_optimizer: false)")
    lines = []
    fresh = run(tmp_path / "lean", 6, log=lines.append, checkpoint__resume="auto", checkpoint__load_optimizer=False)
    assert fresh["resumed_from"] and "resume: optimizer state not loaded (checkpoint.load_optimizer: false); " \
                                     "it starts fresh" in lines
    # the same weights at step 3 (the same step-4 loss), then fresh AdamW moments take other steps
    assert fresh["losses"][0] == pytest.approx(full["losses"][3], rel=1e-6) and fresh["losses"][1:] != full["losses"][4:]


def test_load_optimizer_and_rng_false_on_a_full_checkpoint(tmp_path):
    needs("torch")
    full = run(tmp_path / "a", 6)
    run(tmp_path / "b", 3)
    same = run(tmp_path / "b", 6, checkpoint__resume="auto")
    assert same["losses"] == full["losses"][3:]  # the default: everything resumes, bit-identically
    run(tmp_path / "c", 3)
    lines = []
    fresh = run(tmp_path / "c", 6, log=lines.append, checkpoint__resume="auto", checkpoint__load_optimizer=False,
                checkpoint__load_rng=False)
    assert "resume: random state not loaded (checkpoint.load_rng: false)" in lines
    assert fresh["losses"][0] == pytest.approx(full["losses"][3], rel=1e-6)  # same weights: same first loss
    assert fresh["losses"][1:] != full["losses"][4:]  # then AdamW's fresh moments take other steps


def test_mindspeed_flags_set_the_recipe_keys():
    cmd = [sys.executable, "-m", "core.launch", TINY, "--print-recipe", "--no-load-optim", "--no-load-rng",
           "--no-save-optim", "--save-interval", "7", "--log-tps"]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=60, check=True).stdout
    for line in ("load_optimizer: false", "load_rng: false", "save_optimizer: false", "save_every: 7"):
        assert line in out, out
