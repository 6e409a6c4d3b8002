"""Tracebacks where a line belongs: a model config that does not fit, converter inputs that cannot be
converted as asked, hf-export of a missing path: each is one line on stderr and exit status 2, with
the full traceback (for model errors) in the run folder; MindSpore's compile-failure dumps go to the
run folder too, not the working directory. Real processes, real files."""

import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO, needs

TINY = REPO / "examples/llama/tiny.yaml"


def _run(argv, cwd, **env):
    base = {k: v for k, v in os.environ.items() if k != "MS_OM_PATH"}  # these tests check the default
    return subprocess.run([sys.executable, *argv], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=dict(base, **env))


def _one_line(proc):
    assert proc.returncode == 2, proc.stdout[-1000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    return proc.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("setting, expected", [
    ("model.config.n_heads=5", "the first training step of model.py:Llama failed with model.config ("),
    ("model.config.n_kv_heads=3", "n_kv_heads=3"),
    ("data.seq_len=256", "and data.seq_len 256: RuntimeError"),
    ("model.config.dim=100000000", "building the model of model.py:Llama failed"),
])
def test_a_model_config_that_does_not_fit_is_one_line(tmp_path, setting, expected):
    needs("torch")
    run = tmp_path / "run"
    proc = _run(["-m", "core.launch", str(TINY), "--device", "cpu", "--no-progress", "--out", str(run), "--set",
                 "train.steps=2", "--set", setting], REPO)
    line = _one_line(proc)
    assert line.startswith("error: ") and expected in line and f"full traceback: {run / 'error.log'}" in line
    assert "Traceback (most recent call last)" in (run / "error.log").read_text()
    if "dim=100000000" in setting:
        assert "does not fit in memory" in line


def test_mindspore_compile_failures_go_to_the_run_folder(tmp_path):
    needs("torch")
    needs("mindspore")
    shutil.copy(REPO / "tests/reliability/graph_unfriendly_model.py", tmp_path / "model.py")
    (tmp_path / "r.yaml").write_text("model: {source: model.py:Odd}\ndata: {seq_len: 16, batch_size: 4}\n"
                                     "train: {steps: 2, eval_batches: 1}\n")
    run = tmp_path / "run"
    work = tmp_path / "work"
    work.mkdir()
    proc = _run(["-m", "core.launch", str(tmp_path / "r.yaml"), "--backend", "mindspore", "--device", "cpu",
                 "--no-progress", "--out", str(run)], work, MINDBRIDGE_CACHE=str(tmp_path / "cache"),
                PYTHONPATH=str(REPO))
    assert _one_line(proc).startswith("error: the first training step of model.py:Odd failed")
    framework = proc.stderr.strip().splitlines()[:-1]  # MindSpore prints its CRITICAL log line itself
    assert len(framework) <= 1 and all(x.startswith("[CRITICAL]") for x in framework), proc.stderr
    assert list(run.glob("mindspore/rank_*/om/analyze_fail.ir"))
    assert not list(work.iterdir())  # nothing in the working directory


def _tree(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    shutil.copy(REPO / "examples/llama/model.py", src / "model.py")
    (src / "sub/loop").symlink_to("..")
    (src / "binary.py").write_bytes(b"\xff\xfe\x00torch\x00")
    return src


def test_converter_inputs_that_cannot_be_converted_are_one_line_each(tmp_path):
    src = _tree(tmp_path)
    out = tmp_path / "out"
    proc = _run(["-m", "codemods.convert", str(src), "-o", str(out)], tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"error: {src / 'sub/loop'}: a symlink loop" in proc.stderr
    assert (out / "model.py").is_file() and "mindspore" in (out / "model.py").read_text()  # the rest converted
    (tmp_path / "a_file").write_text("x")
    for argv, expected in (
        ([str(src), "-o", str(tmp_path / "a_file")], "is an existing file"),
        ([str(src), "-o", "/proc/mindbridge/out"], "cannot create"),
        ([str(src / "binary.py")], "binary.py:1:1 MB001 encoding: not UTF-8 text"),
    ):
        proc = _run(["-m", "codemods.convert", *argv], tmp_path)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert expected in proc.stderr.strip().splitlines()[0], proc.stderr


def test_hf_export_of_a_missing_path_is_one_line(tmp_path):
    for missing in (tmp_path / "nope", tmp_path / "nope.safetensors"):
        proc = _run(["-m", "core.checkpoint", "hf-export", str(missing), str(tmp_path / "out")], REPO)
        assert _one_line(proc) == f"error: {missing}: no such checkpoint folder or weights file"
