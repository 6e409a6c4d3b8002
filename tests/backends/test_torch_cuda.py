"""The torch backend on a CUDA GPU: fp32 matches the CPU run, bf16 autocast trains. Skipped without CUDA
(CI has none; run on a GPU host with `pytest tests/backends/test_torch_cuda.py`)."""

import numpy as np
import pytest

from conftest import REPO, needs
from core.launch import train

TINY = REPO / "examples/llama/tiny.yaml"
SMALL = {"model.config.dim": 64, "model.config.n_layers": 2, "model.config.hidden_dim": 176, "data.seq_len": 64,
         "data.batch_size": 8, "train.steps": 20, "train.log_every": 0, "train.eval_batches": 1}


@pytest.fixture
def cuda():
    needs("torch")
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this host (the torch backend's CPU path is tested elsewhere)")


def _run(tmp_path, name, device, **ov):
    return train(str(TINY), backend="torch", device=device,
                 overrides=dict(SMALL, **{"train.out_dir": str(tmp_path / name)}, **ov), log=lambda *a: None)


def test_auto_picks_cuda_and_fp32_matches_cpu(cuda, tmp_path):
    gpu = _run(tmp_path, "gpu", "auto")
    cpu = _run(tmp_path, "cpu", "cpu")
    assert gpu["device"].startswith("cuda:0")
    # fp32 on different kernels (TF32 off by default for matmul in torch): rel 1e-3 over 20 steps
    np.testing.assert_allclose(gpu["losses"], cpu["losses"], rtol=1e-3)


def test_bf16_autocast_trains_on_cuda(cuda, tmp_path):
    s = _run(tmp_path, "bf16", "cuda", **{"train.precision": "bf16"})
    assert s["device"].endswith("bf16")
    assert s["final_loss"] < s["losses"][0] - 0.5
