"""Device resolution of the torch backend: auto picks CPU here, absent devices are one-line errors,
and a broken torch_npu install (importable package, failing native library) never crashes detection."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import REPO, needs


def test_auto_resolves_to_cpu_here():
    needs("torch")
    from backends.torch_npu.device import resolve_device

    device, desc = resolve_device("auto")
    assert device == "cpu" and desc.startswith("cpu (torch ")


@pytest.mark.parametrize("requested, words", [("npu", "no usable NPU"), ("cuda", "no usable CUDA"),
                                              ("gpu", "no usable CUDA")])
def test_absent_device_is_a_one_line_error(requested, words):
    needs("torch")
    from backends.base import BackendError
    from backends.torch_npu.device import resolve_device

    with pytest.raises(BackendError) as e:
        resolve_device(requested)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_launch_with_device_npu_fails_cleanly():
    needs("torch")
    proc = subprocess.run([sys.executable, "-m", "core.launch", "examples/llama/tiny.yaml", "--device", "npu",
                           "--set", "train.steps=1"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: --device npu requested but no usable NPU")
    assert "Traceback" not in proc.stderr


BROKEN_TORCH_NPU = """
import os
# what the real torch_npu does first, before its native import fails without CANN
os.environ["TORCH_DEVICE_BACKEND_AUTOLOAD"] = "0"
raise ImportError("libhccl.so: cannot open shared object file: No such file or directory")
"""


def _run_probe(tmp_path, code):
    pkg = tmp_path / "site" / "torch_npu"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent(BROKEN_TORCH_NPU))
    env = dict(os.environ, PYTHONPATH=f"{tmp_path / 'site'}{os.pathsep}{REPO}")
    env.pop("TORCH_DEVICE_BACKEND_AUTOLOAD", None)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_broken_torch_npu_without_cann_is_reported_not_raised(tmp_path):
    needs("torch")
    out = _run_probe(tmp_path, """
        import json, os
        from backends.torch_npu.device import probe_npu, resolve_device
        p = probe_npu()
        print(json.dumps({"available": p.available, "reason": p.reason, "auto": resolve_device("auto")[0]}))
    """)
    assert out == {"available": False, "auto": "cpu",
                   "reason": out["reason"]} and "torch_npu is installed but the Ascend CANN runtime" in out["reason"]


def test_guarded_import_of_broken_torch_npu_restores_environment(tmp_path):
    needs("torch")
    out = _run_probe(tmp_path, """
        import json, os
        from backends.torch_npu.device import try_import_torch_npu
        p = try_import_torch_npu()
        print(json.dumps({"available": p.available, "reason": p.reason,
                          "autoload": os.environ.get("TORCH_DEVICE_BACKEND_AUTOLOAD")}))
    """)
    assert out["available"] is False
    assert out["reason"] == "import torch_npu failed: ImportError: libhccl.so: cannot open shared object file: No such file or directory"
    assert out["autoload"] is None  # torch_npu's side effect on the environment was undone
