"""A converted entry script honours its own device flag (backends/mindspore/script.py).

Real processes: two tiny torch scripts, converted, run with `python train.py <flags>` on real
MindSpore. The argparse script prints what `backends.mindspore.script.READY` chose next to what its
own parser received; the nanoGPT-style one takes `--device=cpu` through its configurator
(`exec(open("configurator.py").read())` over sys.argv) and trains a step. The processes run in
parallel (each MindSpore start is a few seconds).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from codemods import convert_source
from conftest import REPO, needs

ARGPARSE = '''import argparse
import sys

import torch


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--no-cuda", action="store_true")
    args = parser.parse_args()
    ready = sys.modules["backends.mindspore.script"].READY
    x = torch.ones(2) * 3
    print(f"target={ready['target']} source={ready['source']} device={args.device} sum={float(x.sum()):.1f}")


if __name__ == "__main__":
    main()
'''

NANOGPT = '''import sys

import torch

device = 'cuda'
batch_size = 4
exec(open('configurator.py').read())  # overrides from command line
torch.manual_seed(0)
model = torch.nn.Linear(3, 1)
model.to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x = torch.ones(batch_size, 3, device=device)
for it in range(2):
    loss = model(x).pow(2).mean()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
print(f"target={sys.modules['backends.mindspore.script'].READY['target']} device={device} batch_size={batch_size}")
'''

CONFIGURATOR = '''import sys
from ast import literal_eval
for arg in sys.argv[1:]:
    assert arg.startswith('--') and '=' in arg, arg
    key, val = arg[2:].split('=')
    assert key in globals(), f"Unknown config key: {key}"
    try:
        attempt = literal_eval(val)
    except (SyntaxError, ValueError):
        attempt = val
    assert type(attempt) == type(globals()[key])
    globals()[key] = attempt
'''

# case -> (script, argv, extra environment)
CASES = {
    "cpu": ("train_args.py", ["--device=cpu"], {}),
    "no_cuda": ("train_args.py", ["--no-cuda"], {}),
    "auto": ("train_args.py", [], {}),
    "cuda": ("train_args.py", ["--device", "cuda"], {}),
    "npu_index": ("train_args.py", ["--device", "npu:1"], {}),
    "mps": ("train_args.py", ["--device=mps"], {}),
    "env_disagrees": ("train_args.py", ["--device=cpu"], {"MINDBRIDGE_DEVICE": "npu"}),
    "env_agrees": ("train_args.py", ["--device=cpu"], {"MINDBRIDGE_DEVICE": "cpu"}),
    "nanogpt": ("nanogpt.py", ["--device=cpu", "--batch_size=2"], {}),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    needs("mindspore")
    folder = tmp_path_factory.mktemp("script_device")
    for name, source in (("train_args.py", ARGPARSE), ("nanogpt.py", NANOGPT)):
        result = convert_source(source, name)
        assert "import backends.mindspore.script" in result.code
        assert [d for d in result.diagnostics if d.level == "error"] == [], result.diagnostics
        (folder / name).write_text(result.code, encoding="utf-8")
    (folder / "configurator.py").write_text(CONFIGURATOR, encoding="utf-8")
    base = {k: v for k, v in os.environ.items() if k != "MINDBRIDGE_DEVICE"}
    base["PYTHONPATH"] = str(REPO)
    procs = {name: subprocess.Popen([sys.executable, script, *argv], cwd=folder, env={**base, **extra},
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name, (script, argv, extra) in CASES.items()}
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=120)
        out[name] = (proc.returncode, stdout, stderr)
    return out


def _ok(run) -> str:
    rc, stdout, stderr = run
    assert rc == 0, stderr[-2000:]
    return stdout.strip().splitlines()[-1]


def _one_line_error(run) -> str:
    """Exit status 2, no traceback, and the last stderr line is the error (MindSpore may warn before it)."""
    rc, stdout, stderr = run
    assert rc == 2 and "Traceback" not in stderr, stderr[-2000:]
    line = stderr.strip().splitlines()[-1]
    assert line.startswith("error: "), stderr[-2000:]
    return line


def test_the_flag_picks_the_target_and_the_script_still_sees_it(runs):
    assert _ok(runs["cpu"]) == "target=CPU source=--device=cpu device=cpu sum=6.0"
    assert _ok(runs["no_cuda"]) == "target=CPU source=--no-cuda device=cuda sum=6.0"
    assert _ok(runs["env_agrees"]) == "target=CPU source=--device=cpu device=cpu sum=6.0"
    assert _ok(runs["nanogpt"]) == "target=CPU device=cpu batch_size=2"  # the configurator overrode both


def test_without_a_flag_the_target_is_auto(runs):
    line = _ok(runs["auto"])
    target = line.split()[0].removeprefix("target=")
    assert target in ("Ascend", "GPU", "CPU")
    assert line.split()[1:] == ["source=MINDBRIDGE_DEVICE=auto", "device=cuda", "sum=6.0"]


def test_an_absent_device_is_a_one_line_error(runs):
    if _ok(runs["auto"]).split()[0] != "target=CPU":
        pytest.skip("this machine has an accelerator: --device cuda / npu may be present")
    cuda = _one_line_error(runs["cuda"])
    assert cuda.startswith("error: --device cuda requested but MindSpore reports no usable GPU device"), cuda
    assert cuda.endswith("(pass --device cpu to run on the CPU)"), cuda
    npu = _one_line_error(runs["npu_index"])
    assert npu.startswith("error: --device npu requested but MindSpore reports no usable Ascend device"), npu


def test_a_flag_with_no_mindspore_target_is_refused(runs):
    assert _one_line_error(runs["mps"]) == ("error: --device=mps: MindSpore has no 'mps' device (use --device cpu, "
                                            "cuda[:N], gpu[:N] or npu[:N], or no flag for auto)")


def test_mindbridge_device_that_disagrees_with_the_flag_is_an_error(runs):
    line = _one_line_error(runs["env_disagrees"])
    assert "MINDBRIDGE_DEVICE=npu" in line and "--device=cpu" in line, line
