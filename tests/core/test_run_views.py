"""Looking at a run: TensorBoard event files beside metrics.jsonl, and `mindbridge plot RUN_DIR` to PNG.

Real runs of the tiny Llama on torch (CPU), real tensorboard (its own EventAccumulator reads the files
back) and real matplotlib."""

import json
import subprocess
import sys

import pytest

from conftest import REPO, needs
from core.launch import train

TINY = str(REPO / "examples/llama/tiny.yaml")
SMALL = {"model.config.dim": 32, "model.config.n_layers": 1, "model.config.hidden_dim": 64, "data.seq_len": 16,
         "data.batch_size": 2, "train.steps": 5, "train.log_every": 1, "train.eval_every": 5, "train.eval_batches": 1}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    needs("torch")
    out = tmp_path_factory.mktemp("views") / "run"
    train(TINY, backend="torch", device="cpu", overrides={**SMALL, "train.out_dir": str(out)}, log=lambda *a: None)
    return out


def test_metrics_also_go_to_tensorboard(run_dir):
    needs("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    records = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    acc = EventAccumulator(str(run_dir / "tensorboard"))
    acc.Reload()
    assert {"loss", "lr", "grad_norm", "tokens_per_s", "eval_loss"} <= set(acc.Tags()["scalars"])
    assert [(e.step, pytest.approx(e.value, rel=1e-6)) for e in acc.Scalars("loss")] == \
        [(r["step"], r["loss"]) for r in records]
    assert [e.step for e in acc.Scalars("eval_loss")] == [5]


def test_plot_draws_a_png(run_dir, tmp_path):
    needs("matplotlib")
    out = tmp_path / "run.png"
    proc = subprocess.run([sys.executable, "-m", "core.cli", "plot", str(run_dir), "-o", str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"wrote {out}\n"
    import numpy as np
    from PIL import Image

    with Image.open(out) as im:
        assert im.format == "PNG" and im.size == (1300, 360)
        colours = len(np.unique(np.asarray(im.convert("RGB")).reshape(-1, 3), axis=0))
    assert colours > 50  # lines and text were drawn, not an empty canvas


def test_plot_errors_are_one_line(tmp_path):
    cases = {tmp_path / "nothing": f"error: {tmp_path / 'nothing' / 'metrics.jsonl'}: no such file (is "
                                   f"{tmp_path / 'nothing'} a run folder?)\n"}
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "metrics.jsonl").write_text('{"step": 1, "loss": 2.0}\n{oops\n')
    cases[bad] = f"error: {bad / 'metrics.jsonl'}:2: not a JSON line\n"
    for folder, message in cases.items():
        proc = subprocess.run([sys.executable, "-m", "core.plot", str(folder)], cwd=REPO, capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 2 and proc.stderr == message, proc.stderr
