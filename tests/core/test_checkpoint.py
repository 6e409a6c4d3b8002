"""core.checkpoint on real files: bit-exact round trip, atomic saves (a save killed half-way is ignored),
keep_last retention, bare weight files, and one-line errors naming the path."""

import hashlib
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import REPO
from core import checkpoint as C
from core.checkpoint import store
from core.checkpoint import CheckpointError, latest_checkpoint, load_checkpoint, load_weights, save_checkpoint


def _state(seed=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((5, 3)).astype(np.float32)
    w[0, :3] = [np.nan, np.inf, -0.0]  # bit patterns must survive too
    weights = {"tok_emb.weight": w, "layers.0.attn.wq.weight": rng.standard_normal((4, 4)).astype(np.float32),
               "norm.weight": np.ones(3, np.float32)}
    optim = {f"{slot}/{k}": rng.standard_normal(v.shape).astype(np.float32)
             for slot in ("exp_avg", "exp_avg_sq") for k, v in weights.items()}
    optim["step"] = np.array(7, dtype=np.int64)
    return weights, optim


def _bits_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and a[k].tobytes() == b[k].tobytes() for k in a)


def test_round_trip_is_bit_exact(tmp_path):
    weights, optim = _state()
    meta = {"backend": "torch", "rng": {"numpy": np.int64(5), "torch": "AAEC"}, "recipe": {"name": "t"}}
    path = save_checkpoint(tmp_path / "ckpt", 7, weights, optim, meta)
    assert path == tmp_path / "ckpt/step_00000007"
    assert sorted(p.name for p in path.iterdir()) == ["meta.json", "model.safetensors", "optimizer.safetensors"]
    w2, o2, m2 = load_checkpoint(path)
    assert _bits_equal(weights, w2) and _bits_equal(optim, o2)
    assert o2["step"].shape == () and o2["step"].dtype == np.int64 and int(o2["step"]) == 7
    assert m2["step"] == 7 and m2["backend"] == "torch" and m2["rng"] == {"numpy": 5, "torch": "AAEC"}
    assert m2["format"] == store.FORMAT and "mindbridge_version" in m2 and "time" in m2
    assert _bits_equal(load_weights(path), weights)
    assert _bits_equal(load_checkpoint(tmp_path / "ckpt")[0], weights)  # a root means its newest
    assert not [p for p in (tmp_path / "ckpt").iterdir() if p.name.startswith(".")]  # no temp dirs left


def test_latest_ignores_partial_and_temporary_folders(tmp_path):
    root = tmp_path / "ckpt"
    weights, optim = _state()
    save_checkpoint(root, 10, weights, optim, {})
    good = save_checkpoint(root, 20, weights, optim, {})
    (root / ".tmp-step_00000040-abc").mkdir()  # a save in progress
    (root / ".tmp-step_00000040-abc" / "model.safetensors").write_bytes(b"partial")
    (root / "step_00000050").mkdir()  # e.g. half-copied by hand: no meta.json
    truncated = root / "step_00000060"
    save_checkpoint(root, 60, weights, optim, {})
    with open(truncated / "optimizer.safetensors", "r+b") as fh:
        fh.truncate(100)
    (root / "notes").mkdir()
    assert latest_checkpoint(root) == good
    complete, broken = C.list_checkpoints(root)
    assert [p.name for p in complete] == ["step_00000010", "step_00000020"]
    assert set(p.name for p in broken) == {"step_00000050", "step_00000060"}
    assert "truncated" in broken[truncated]
    assert latest_checkpoint(tmp_path / "missing") is None


def test_a_save_killed_half_way_is_ignored_and_cleaned_up(tmp_path):
    root = tmp_path / "ckpt"
    weights, optim = _state()
    save_checkpoint(root, 1, weights, optim, {"backend": "torch"})
    # A real crash: the child process dies (SIGKILL-like os._exit) after writing the weights file.
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(REPO)!r})
        import numpy as np
        from core.checkpoint import store as C
        real = C._save_tensors
        def dying(tensors, path, what):
            real(tensors, path, what)
            if what == "weights":
                os._exit(9)
        C._save_tensors = dying
        C.save_checkpoint({str(root)!r}, 2, {{"w": np.ones(3, np.float32)}}, {{"step": np.array(2)}}, {{}})
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 9, proc.stderr
    leftovers = [p for p in root.iterdir() if p.name.startswith(store.TMP_PREFIX)]
    assert len(leftovers) == 1 and (leftovers[0] / "model.safetensors").exists()
    assert latest_checkpoint(root) == root / "step_00000001"
    assert load_checkpoint(root)[2]["step"] == 1
    save_checkpoint(root, 3, weights, optim, {})
    assert sorted(p.name for p in root.iterdir()) == ["step_00000001", "step_00000003"]


def test_keep_last_deletes_older_complete_checkpoints(tmp_path):
    root = tmp_path / "ckpt"
    weights, optim = _state()
    (root / "step_00000001").mkdir(parents=True)  # incomplete: not counted, not deleted
    for step in (2, 4, 6, 8):
        save_checkpoint(root, step, weights, optim, {}, keep_last=2)
    assert sorted(p.name for p in root.iterdir()) == ["step_00000001", "step_00000006", "step_00000008"]
    save_checkpoint(root, 10, weights, optim, {}, keep_last=None)
    assert len(C.list_checkpoints(root)[0]) == 3


def test_saving_a_step_again_replaces_it(tmp_path):
    root = tmp_path / "ckpt"
    w1, o1 = _state(1)
    w2, o2 = _state(2)
    save_checkpoint(root, 5, w1, o1, {"run": 1})
    save_checkpoint(root, 5, w2, o2, {"run": 2})
    w, o, m = load_checkpoint(root / "step_00000005")
    assert _bits_equal(w, w2) and m["run"] == 2
    assert sorted(p.name for p in root.iterdir()) == ["step_00000005"]


def test_bare_safetensors_file_and_export(tmp_path, capsys):
    root = tmp_path / "ckpt"
    weights, optim = _state()
    save_checkpoint(root, 3, weights, optim, {"backend": "mindspore"})
    out = tmp_path / "export/weights.safetensors"
    assert C.main(["export", str(root), str(out)]) == 0
    assert _bits_equal(load_weights(out), weights)
    assert C.main(["info", str(root)]) == 0
    text = capsys.readouterr().out
    assert "step: 3" in text and "backend: mindspore" in text and "3 tensors" in text


def test_errors_are_one_line_and_name_the_path(tmp_path, capsys):
    weights, optim = _state()
    root = tmp_path / "ckpt"
    good = save_checkpoint(root, 1, weights, optim, {})
    empty = tmp_path / "empty"
    (empty / "step_00000009").mkdir(parents=True)
    corrupt = save_checkpoint(tmp_path / "c", 2, weights, optim, {})
    size = (corrupt / "model.safetensors").stat().st_size
    (corrupt / "model.safetensors").write_bytes(b"\xff" * size)  # same size, garbage header
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    cases = [
        (lambda: load_checkpoint(tmp_path / "nope"), f"checkpoint not found: {tmp_path / 'nope'}"),
        (lambda: load_checkpoint(empty), f"no complete checkpoint in {empty} (1 unusable folder(s) ignored: step_00000009)"),
        (lambda: load_checkpoint(empty / "step_00000009"), "step_00000009: missing meta.json"),
        (lambda: load_checkpoint(corrupt), "model.safetensors does not match its recorded SHA-256 (corrupted on disk)"),
        (lambda: load_weights(tmp_path / "bad.safetensors"), "bad.safetensors: corrupt or unreadable"),
        (lambda: load_weights(tmp_path / "missing.safetensors"), "checkpoint file not found"),
        (lambda: load_checkpoint(good / "meta.json"), "not a checkpoint folder"),
        (lambda: save_checkpoint(root, 2, weights, optim, {"x": object()}), "not JSON-serialisable"),
    ]
    for call, expected in cases:
        with pytest.raises(CheckpointError) as e:
            call()
        assert expected in str(e.value) and "\n" not in str(e.value), str(e.value)
    assert latest_checkpoint(root) == good  # the failed save left nothing behind
    assert sorted(p.name for p in root.iterdir()) == ["step_00000001"]
    assert C.main(["info", str(empty)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no complete checkpoint in") and err.count("\n") == 1


def test_meta_json_is_plain_readable_json(tmp_path):
    weights, optim = _state()
    path = save_checkpoint(tmp_path, 4, weights, optim, {"recipe": {"lr": 3e-4}, "loss": np.float32(1.5)})
    meta = json.loads((path / "meta.json").read_text())
    assert meta["recipe"] == {"lr": 3e-4} and meta["loss"] == 1.5
    entry = meta["files"]["model.safetensors"]
    assert entry["bytes"] == (path / "model.safetensors").stat().st_size
    assert entry["sha256"] == hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()
