"""The MindSpore backend runs the same torch model source (converted on import) and matches the torch
backend: per-step losses within relative 1e-4 over 20 fp32 steps on CPU, in graph and PyNative mode,
and checkpoints resume across backends in both directions."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, needs
from core import checkpoint as ckpt
from core.launch import train

pytestmark = pytest.mark.mindspore

TINY = REPO / "examples/llama/tiny.yaml"
LOSS_RTOL = 1e-4  # per-step relative loss difference, fp32, CPU
SMALL = {"model.config.dim": 32, "model.config.n_layers": 2, "model.config.hidden_dim": 96,
         "model.config.tie_embeddings": True, "data.seq_len": 32, "data.batch_size": 8,
         "train.log_every": 0, "train.eval_batches": 1, "schedule.warmup_steps": 3}


@pytest.fixture(scope="module")
def init_weights(tmp_path_factory):
    """One neutral starting point: the torch model's initial weights as safetensors."""
    needs("torch")
    needs("mindspore")
    from backends.torch_npu.runtime import TorchBackend
    from core.launch import resolve_recipe

    ov = [f"{k}={v}" for k, v in SMALL.items()]
    backend = TorchBackend(resolve_recipe(str(TINY), "torch", "cpu", ov))
    backend.build()
    root = tmp_path_factory.mktemp("init")
    return str(ckpt.save_checkpoint(root, 0, backend.state_dict(), {}, {"step": 0}))


def _run(tmp_path, name, backend, init, **overrides):
    ov = dict(SMALL, **{"train.out_dir": str(tmp_path / name), "model.init_from": init})
    ov.update(overrides)
    return train(str(TINY), backend=backend, device="cpu", overrides=ov, log=lambda *a: None)


def _assert_close(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    rel = np.abs(a - b) / np.abs(b)
    assert rel.max() <= LOSS_RTOL, f"max relative loss difference {rel.max():.2e} at step {rel.argmax() + 1}"


@pytest.fixture(scope="module")
def torch_run(tmp_path_factory, init_weights):
    tmp = tmp_path_factory.mktemp("torch")
    return _run(tmp, "t", "torch", init_weights, **{"train.steps": 20, "train.save_every": 10,
                                                      "checkpoint.keep_last": 0}), tmp


@pytest.mark.parametrize("mode", ["graph", "pynative"])
def test_mindspore_matches_torch_for_20_steps(tmp_path, init_weights, torch_run, mode):
    ref, _ = torch_run
    got = _run(tmp_path, mode, "mindspore", init_weights, **{"train.steps": 20, "train.mode": mode})
    assert len(got["losses"]) == 20
    _assert_close(got["losses"], ref["losses"])
    assert got["final_loss"] < got["losses"][0]


def test_resume_torch_checkpoint_on_mindspore(tmp_path, init_weights, torch_run):
    ref, tmp = torch_run
    step10 = tmp / "t/checkpoints/step_00000010"
    got = _run(tmp_path, "ms", "mindspore", init_weights,
               **{"train.steps": 20, "checkpoint.resume": str(step10)})
    assert got["resumed_from"] == str(step10)
    _assert_close(got["losses"], ref["losses"][10:])


def test_resume_mindspore_checkpoint_on_torch(tmp_path, init_weights, torch_run):
    ref, _ = torch_run
    _run(tmp_path, "ms", "mindspore", init_weights, **{"train.steps": 20, "train.save_every": 10,
                                                        "checkpoint.keep_last": 0})
    step10 = tmp_path / "ms/checkpoints/step_00000010"
    got = _run(tmp_path, "t", "torch", init_weights, **{"train.steps": 20, "checkpoint.resume": str(step10)})
    _assert_close(got["losses"], ref["losses"][10:])


def _batch():
    ids = np.arange(64, dtype=np.int64).reshape(2, 32) % 256
    return {"input_ids": ids, "labels": (ids + 1) % 256}


def test_converted_parameter_names_equal_torch_state_dict_keys(init_weights):
    from backends.mindspore.runtime import MindSporeBackend
    from backends.torch_npu.runtime import TorchBackend
    from core.launch import resolve_recipe

    for tie in (True, False):
        ov = [f"{k}={v}" for k, v in SMALL.items()] + [f"model.config.tie_embeddings={tie}"]
        t = TorchBackend(resolve_recipe(str(TINY), "torch", "cpu", ov))
        m = MindSporeBackend(resolve_recipe(str(TINY), "mindspore", "cpu", ov))
        t.build()
        m.build()
        assert list(m.state_dict()) == list(t.model.state_dict())
        assert m.num_parameters() == t.num_parameters()  # a tied weight counts once in both
        t.train_step([_batch()], [1.0], 1e-3)
        m.train_step([_batch()], [1.0], 1e-3)
        assert sorted(m.optimizer_state()) == sorted(t.optimizer_state())


def test_fp16_graph_mode_tracks_fp32(tmp_path, init_weights):
    """fp16 compute (MindSpore O3: cells in fp16, fp32 parameters) on CPU, graph mode: 10 steps stay
    within relative 5e-3 of the fp32 run (measured: ~1e-4, fp16 rounding of the loss)."""
    fp32 = _run(tmp_path, "fp32", "mindspore", init_weights, **{"train.steps": 10})
    fp16 = _run(tmp_path, "fp16", "mindspore", init_weights, **{"train.steps": 10, "train.precision": "fp16"})
    np.testing.assert_allclose(fp16["losses"], fp32["losses"], rtol=5e-3)
    assert fp16["device"].endswith("fp16, graph mode")


def test_bf16_on_cpu_is_refused_with_a_clear_message():
    proc = subprocess.run([sys.executable, "-m", "core.launch", str(TINY), "--backend", "mindspore",
                           "--set", "train.precision=bf16", "--set", "train.steps=1"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: train.precision=bf16 is not supported by MindSpore on CPU")


CACHE_PROBE = """
import json, sys
from backends.mindspore import importer
from core.modelsource import resolve_model_source
cls = importer.load_converted_class(resolve_model_source(sys.argv[1], sys.argv[2]))
print(json.dumps({"converted": importer.STATS.converted, "cached": importer.STATS.cached, "cls": cls.__name__}))
"""


def test_conversion_cache_hits_on_second_launch_and_sees_edits(tmp_path):
    needs("mindspore")
    src = tmp_path / "pkg"
    src.mkdir()
    (src / "model.py").write_text((REPO / "examples/llama/model.py").read_text())
    env = dict(os.environ, MINDBRIDGE_CACHE=str(tmp_path / "cache"))

    def launch():
        proc = subprocess.run([sys.executable, "-c", CACHE_PROBE, "model.py:Llama", str(src)], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])

    first = launch()
    assert first["converted"] == [str(src / "model.py")] and first["cached"] == []
    second = launch()
    assert second["converted"] == [] and second["cached"] == [str(src / "model.py")]
    (src / "model.py").write_text((src / "model.py").read_text() + "\n# edited\n")
    third = launch()
    assert third["converted"] == [str(src / "model.py")]


def test_device_npu_without_ascend_is_a_one_line_error():
    proc = subprocess.run([sys.executable, "-m", "core.launch", str(TINY), "--ai-framework", "mindspore",
                           "--device", "npu", "--set", "train.steps=1"], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("error: --device npu requested but MindSpore reports no usable Ascend device")
    assert "Traceback" not in proc.stderr


UNTRANSLATABLE = '''
import torch
import torch.nn as nn


class Spectral(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(4, 4)

    def forward(self, input_ids, labels=None):
        spec = torch.stft(input_ids.float(), n_fft=4, return_complex=True)
        return self.proj(spec.abs()).mean()
'''


def test_untranslatable_model_stops_with_the_converter_report(tmp_path):
    (tmp_path / "spectral.py").write_text(UNTRANSLATABLE)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("model: {source: spectral.py:Spectral}\ntrain: {steps: 1}\n")
    env = dict(os.environ, MINDBRIDGE_CACHE=str(tmp_path / "cache"))
    proc = subprocess.run([sys.executable, "-m", "core.launch", str(recipe), "--backend", "mindspore",
                           "--out", str(tmp_path / "run")], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    err = proc.stderr.strip().splitlines()[-1]
    assert err.startswith("error: the converter cannot translate 1 torch API use(s) in the model: ")
    assert f"{tmp_path / 'spectral.py'}:12:" in err and "torch.stft" in err
    assert "Traceback" not in proc.stderr
