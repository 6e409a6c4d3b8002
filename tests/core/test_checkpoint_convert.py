"""`python -m core.checkpoint convert` on real files: torch .pt <-> safetensors <-> MindSpore .ckpt is
bit-exact, a checkpoint MindSpore itself saved from the converted Llama loads into the torch model,
and bad input is a one-line error.

    .venv/bin/pytest tests/core/test_checkpoint_convert.py
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, needs
from core import checkpoint
from core.checkpoint import read_weights, write_weights

LLAMA = dict(dim=32, n_layers=2, n_heads=4, n_kv_heads=2, hidden_dim=64, max_seq_len=32, tie_embeddings=False)


def _weights():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((5, 3)).astype(np.float32)
    w[0, :3] = [np.nan, np.inf, -0.0]  # bit patterns must survive too
    return {"tok_emb.weight": w, "layers.0.attn.wq.weight": rng.standard_normal((4, 4)).astype(np.float32),
            "half": rng.standard_normal(6).astype(np.float16), "step": np.array(7, dtype=np.int64)}


def _bits_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and a[k].tobytes() == b[k].tobytes() for k in a)


def test_round_trip_through_every_format_is_bit_exact(tmp_path):
    needs("torch")
    needs("mindspore")
    src = write_weights(_weights(), tmp_path / "w.safetensors")
    chain = ["w.pt", "w.ckpt", "w2.safetensors", "w.ckpt", "w.pth", "w3.safetensors"]
    prev = src
    for name in chain:
        assert checkpoint.main(["convert", str(prev), str(tmp_path / name)]) == 0
        assert _bits_equal(read_weights(tmp_path / name), _weights()), name
        prev = tmp_path / name
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files left
    assert (tmp_path / "w.ckpt").stat().st_mode & 0o200  # writable by its owner, like any file


def test_mindspore_saved_checkpoint_loads_into_torch_and_back(tmp_path):
    """The complaint this answers: a .ckpt MindSpore saved from a model does not load in torch."""
    needs("torch")
    needs("mindspore")
    import mindspore as ms
    import torch

    from backends.mindspore.importer import load_converted_class
    from backends.torch_npu.importer import import_model_class
    from core.modelsource import resolve_model_source

    import patches.mindspore

    from backends.mindspore.device import use_target

    use_target("CPU")  # as the MindSpore backend does, before the first kernel runs
    patches.mindspore.apply("CPU")
    source = resolve_model_source("model.py:Llama", REPO / "examples/llama")
    m_model = load_converted_class(source)(**LLAMA)
    ms.save_checkpoint(m_model, str(tmp_path / "ms.ckpt"))  # MindSpore's own writer, its own names
    assert checkpoint.main(["convert", str(tmp_path / "ms.ckpt"), str(tmp_path / "ms.pt")]) == 0
    t_model = import_model_class(source)(**LLAMA)
    t_model.load_state_dict(torch.load(tmp_path / "ms.pt", weights_only=True), strict=True)
    expected = {n: p.asnumpy() for n, p in m_model.parameters_and_names()}
    assert all(np.array_equal(t_model.state_dict()[k].numpy(), v) for k, v in expected.items())

    torch.save(t_model.state_dict(), tmp_path / "t.pt")  # and the other way: torch -> .ckpt -> MindSpore
    assert checkpoint.main(["convert", str(tmp_path / "t.pt"), str(tmp_path / "t.ckpt")]) == 0
    fresh = load_converted_class(source)(**LLAMA)
    not_loaded, _ = ms.load_param_into_net(fresh, ms.load_checkpoint(str(tmp_path / "t.ckpt")), strict_load=True)
    assert not_loaded == []
    assert all(np.array_equal(p.asnumpy(), expected[n]) for n, p in fresh.parameters_and_names())


def test_torch_wrappers_and_bf16(tmp_path):
    needs("torch")
    import torch

    sd = {"a": torch.arange(6, dtype=torch.float32).reshape(2, 3), "b": torch.tensor([1.5, -2.0], dtype=torch.bfloat16)}
    torch.save({"state_dict": sd, "epoch": 3}, tmp_path / "wrapped.pt")
    got = read_weights(tmp_path / "wrapped.pt")
    assert sorted(got) == ["a", "b"] and got["b"].dtype == np.float32 and got["b"].tolist() == [1.5, -2.0]
    from safetensors.torch import save_file

    save_file(sd, str(tmp_path / "bf16.safetensors"))  # numpy cannot load bf16; widened exactly
    assert read_weights(tmp_path / "bf16.safetensors")["b"].tolist() == [1.5, -2.0]


@pytest.mark.parametrize("src,dst,message", [
    ("missing.pt", "out.safetensors", "weights file not found"),
    ("w.safetensors", "out.npz", "unknown weights format '.npz'"),
    ("garbage.safetensors", "out.pt", "unreadable safetensors file"),
    ("garbage.pt", "out.safetensors", "cannot load as a torch state dict"),
])
def test_bad_input_is_one_line(tmp_path, src, dst, message):
    needs("torch")
    write_weights(_weights(), tmp_path / "w.safetensors")
    (tmp_path / "garbage.safetensors").write_bytes(b"not a safetensors file")
    (tmp_path / "garbage.pt").write_bytes(b"not a pickle")
    proc = subprocess.run([sys.executable, "-m", "core.checkpoint", "convert", str(tmp_path / src), str(tmp_path / dst)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], proc.stderr
