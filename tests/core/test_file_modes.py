"""Every writer goes through core.atomic and honours the umask: under umask 022 files are 0644 and
folders 0755 (what open() and mkdir() give), under 077 they are 0600 and 0700; nothing temporary
is left behind. Checkpoints, token files, weights files in every format, Hugging Face exports,
parity reports, converter output and the converted-source cache are each checked on real files."""

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, needs
from core import atomic

WEIGHTS = {"a.weight": np.ones((2, 3), np.float32), "b": np.arange(4, dtype=np.float32)}


@pytest.fixture(params=[0o022, 0o077], ids=["umask022", "umask077"])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _assert_modes(root: Path, umask: int) -> None:
    paths = [root, *root.rglob("*")]
    assert not [p for p in paths if p.name.startswith(atomic.TMP_PREFIX)], "temporary files left behind"
    for p in paths:
        want = (0o777 if p.is_dir() else 0o666) & ~umask
        assert _mode(p) == want, f"{p}: {oct(_mode(p))}, expected {oct(want)}"


def test_atomic_helpers(tmp_path, umask):
    atomic.atomic_write_text(tmp_path / "out/a.txt", "x")
    with atomic.atomic_open(tmp_path / "out/b.bin") as fh:
        fh.write(b"y")
    with atomic.atomic_dir(tmp_path / "out/folder") as d:
        (d / "inner").write_text("z")
    _assert_modes(tmp_path / "out", umask)
    with pytest.raises(RuntimeError):
        with atomic.atomic_open(tmp_path / "out/a.txt") as fh:
            fh.write(b"half")
            raise RuntimeError("crash while writing")
    assert (tmp_path / "out/a.txt").read_text() == "x"  # the old file survives a failed write
    _assert_modes(tmp_path / "out", umask)


def test_checkpoints_data_and_weights_files(tmp_path, umask):
    from core import checkpoint
    from core.data import prepare

    checkpoint.save_checkpoint(tmp_path / "run/ckpt", 1, WEIGHTS, {"step": np.array(1)}, {})
    checkpoint.export_weights(tmp_path / "run/ckpt", tmp_path / "run/export.safetensors")
    checkpoint.write_weights(WEIGHTS, tmp_path / "run/w.safetensors")
    src = tmp_path / "text.txt"
    src.write_text("hello world " * 10)
    prepare(src, tmp_path / "run/data/tokens")
    _assert_modes(tmp_path / "run", umask)


@pytest.mark.parametrize("suffix, framework", [(".pt", "torch"), (".ckpt", "mindspore")])
def test_framework_weights_formats(tmp_path, umask, suffix, framework):
    needs(framework)
    from core import checkpoint

    checkpoint.write_weights(WEIGHTS, tmp_path / "out" / f"w{suffix}")  # MindSpore's own writer makes 0400
    _assert_modes(tmp_path / "out", umask)


def test_hugging_face_export_and_parity_report(tmp_path, umask):
    from core.checkpoint import hf
    from core.parity.report import write_report

    adapter = hf.load_adapter(REPO / "examples/llama/hf_adapter.py")
    cfg = {"vocab_size": 8, "dim": 4, "n_layers": 1, "n_heads": 1, "n_kv_heads": 1, "hidden_dim": 8}
    rng = np.random.default_rng(0)
    shapes = {"tok_emb.weight": (8, 4), "norm.weight": (4,), "lm_head.weight": (8, 4), "layers.0.attn.wq.weight": (4, 4),
              "layers.0.attn.wk.weight": (4, 4), "layers.0.attn.wv.weight": (4, 4), "layers.0.attn.wo.weight": (4, 4),
              "layers.0.ffn.w1.weight": (8, 4), "layers.0.ffn.w3.weight": (8, 4), "layers.0.ffn.w2.weight": (4, 8),
              "layers.0.attn_norm.weight": (4,), "layers.0.ffn_norm.weight": (4,)}
    weights = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
    hf.export_hf(weights, cfg, tmp_path / "out/hf", adapter, max_shard_bytes=200)
    rep = {"recipe": "r", "steps": 0, "precision": "fp32", "devices": {"torch": "t", "mindspore": "m"}, "batch": "b",
           "init": "i", "tolerances": {"logits": 1, "grads": 1, "loss": 1, "params": 1}, "failed": [], "ok": True,
           "timing_s": {}, "checks": {"forward": {"max_abs": 0.0, "rel_l2": 0.0, "ok": True},
                                      "loss0": {"torch": 1.0, "mindspore": 1.0, "abs": 0.0, "rel": 0.0, "ok": True},
                                      "grads": {"per_name": {}, "missing": [], "unexpected": [], "worst": None,
                                                "ok": True}}}
    write_report(rep, tmp_path / "out/parity")
    _assert_modes(tmp_path / "out", umask)


def test_converter_output_report_and_cache(tmp_path, umask, monkeypatch):
    from codemods.convert import main as convert_main

    src = tmp_path / "src"
    src.mkdir()
    (src / "model.py").write_text("import torch\nx = torch.zeros(2, 3)\n")
    (src / "notes.txt").write_text("copied as is\n")
    (src / "run.py").write_text("import torch\nprint(torch.ones(2))\n")
    os.chmod(src / "run.py", 0o755)  # an executable script stays executable (under the umask, as cp does)
    assert convert_main([str(src), "-o", str(tmp_path / "out"), "--report", str(tmp_path / "out/report.md")]) == 0
    out = tmp_path / "out"
    assert _mode(out / "run.py") == 0o777 & 0o755 & ~umask
    os.remove(out / "run.py")
    _assert_modes(out, umask)
    monkeypatch.setenv("MINDBRIDGE_CACHE", str(tmp_path / "cache"))
    from backends.mindspore.importer import converted_source

    converted_source(src / "model.py")
    _assert_modes(tmp_path / "cache", umask)
