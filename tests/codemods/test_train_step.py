"""The training step converts (codemods/rules/train_step.py + backends/mindspore/compat_train.py):
a torch training script, converted, trains on MindSpore with torch's per-step losses, weights and
gradient norms (fp32, CPU, PyNative; relative 1e-5 after 3 steps).

The script below is written the way people write them: gradient accumulation with the next batch
fetched between forward and backward (nanoGPT), clipping with the norm logged, lr written into
`param_groups`, an lr scheduler, a disabled GradScaler, `zero_grad(set_to_none=True)` after the
step, losses formatted in f-strings.
"""

from __future__ import annotations

import io
import json
import contextlib

import numpy as np
import pytest

from codemods import convert_source
from ms_exec import ms_env  # noqa: F401 - fixture

SCRIPT = '''
import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
with torch.no_grad():
    for i, p in enumerate(model.parameters()):
        p.copy_(torch.from_numpy(np.random.default_rng(i).uniform(-0.5, 0.5, tuple(p.shape)).astype(np.float32)))
optimizer = OPTIMIZER
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
scaler = torch.cuda.amp.GradScaler(enabled=False)
accum = 2


def get_batch(i):
    rng = np.random.default_rng(100 + i)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(np.tanh(x[:, :2]))


X, Y = get_batch(0)
log = []
for it in range(3):
    for group in optimizer.param_groups:
        group["lr"] = 0.05 * (it + 1)
    for micro in range(accum):
        out = model(X)
        loss = ((out - Y) ** 2).mean() / accum
        X, Y = get_batch(it * accum + micro + 1)
        scaler.scale(loss).backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
    clipped = sum(float(p.grad.abs().sum()) for p in model.parameters() if p.grad is not None)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    scheduler.step()
    print(f"iter {it}: loss {loss.item() * accum:.6f} norm {norm:.6f}")
    log.append([loss.item(), float(norm), clipped])
weights = [p.detach().numpy() if hasattr(p, "detach") else p.asnumpy() for p in model.parameters()]
'''

OPTIMIZERS = {
    "adamw": "torch.optim.AdamW(model.parameters(), lr=0.05, weight_decay=0.1)",
    "sgd_nesterov": "torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)",
    # eps 1e-3: with the default 1e-8, Adam's g / sqrt(v) turns fp32 rounding in a near-zero gradient
    # element into a full +-lr step (measured: weights 2.4e-5 apart after 3 steps, losses within 1e-6);
    # and a visible eps is where MindSpore's own Adam differs from torch's (compat_train.Adam)
    "adam": "torch.optim.Adam(model.parameters(), lr=0.05, betas=(0.8, 0.99), eps=1e-3, weight_decay=0.01)",
}


def _run(code: str) -> tuple[dict, str]:
    ns: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "train.py", "exec"), ns)
    return ns, out.getvalue()


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_converted_training_script_matches_torch_step_by_step(name, ms_env):
    source = SCRIPT.replace("OPTIMIZER", OPTIMIZERS[name])
    result = convert_source(source, "train.py")
    assert [d for d in result.diagnostics if d.level == "error"] == [], result.diagnostics
    assert "compat_train.backward(_mb_forward)" in result.code and ".backward()" not in result.code
    t_ns, t_out = _run(source)
    m_ns, m_out = _run(result.code)
    t_log, m_log = np.array(t_ns["log"]), np.array(m_ns["log"])
    assert np.allclose(m_log, t_log, rtol=1e-5, atol=1e-7), (t_out, m_out)
    for a, b in zip(m_ns["weights"], t_ns["weights"]):
        assert np.linalg.norm(a - b) <= 1e-5 * np.linalg.norm(b)
    assert len(m_out.splitlines()) == 3 and m_out.split()[0:2] == ["iter", "0:"]  # the same log lines


def test_backward_twice_accumulates_and_zero_grad_clears(ms_env):
    import mindspore as ms
    from mindspore import mint
    from mindspore.experimental.optim import SGD

    from backends.mindspore import compat_train

    lin = mint.nn.Linear(3, 1)
    opt = SGD(lin.trainable_params(), lr=0.1)  # noqa: F841 - backward() differentiates what live optimizers hold
    x = ms.Tensor(np.ones((2, 3), np.float32))

    def forward():
        loss = lin(x).sum()
        return loss, (loss,)

    compat_train.backward(forward)
    once = compat_train.grad(lin.weight).asnumpy()
    compat_train.backward(forward)
    assert np.allclose(compat_train.grad(lin.weight).asnumpy(), 2 * once)
    compat_train.zero_grad(lin)
    assert compat_train.grad(lin.weight) is None
    assert json.dumps(f"{lin(x).sum():.3f}")  # a 0-d tensor takes a format spec (patches/mindspore/tensor_api.py)


ENTRY = '''import torch
import torch.nn.functional as F


def main():
    x = torch.linspace(-2, 2, 5)
    print(" ".join(f"{v:.5f}" for v in F.gelu(x).tolist()))


if __name__ == "__main__":
    main()
'''


def test_a_converted_entry_script_readies_mindspore_itself(tmp_path):
    """`python train.py` on the converted script: device, PyNative and the kernel fallbacks (F.gelu has no
    MindSpore CPU kernel) are set up by the `import backends.mindspore.script` the converter writes."""
    import os
    import subprocess
    import sys

    from conftest import REPO, needs

    needs("torch")
    needs("mindspore")
    result = convert_source(ENTRY, "main.py")
    assert result.code.count("import backends.mindspore.script") == 1
    assert convert_source(result.code, "main.py").code == result.code  # converting again adds nothing
    (tmp_path / "torch_main.py").write_text(ENTRY, encoding="utf-8")
    (tmp_path / "ms_main.py").write_text(result.code, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO), "MINDBRIDGE_DEVICE": "cpu"}
    want = subprocess.run([sys.executable, "torch_main.py"], cwd=tmp_path, capture_output=True, text=True, env=env)
    got = subprocess.run([sys.executable, "ms_main.py"], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert got.returncode == 0, got.stderr[-2000:]
    assert got.stdout.split() == want.stdout.split()
    absent = subprocess.run([sys.executable, "ms_main.py"], cwd=tmp_path, capture_output=True, text=True,
                            env={**env, "MINDBRIDGE_DEVICE": "npu"})
    assert absent.returncode != 0 and "Traceback" not in absent.stderr
    assert absent.stderr.strip().splitlines()[-1].startswith("error: ")


def test_every_training_golden_compiles():
    """`nonlocal`/`global` errors are found by compile(), not by ast.parse (the converter's own check)."""
    from pathlib import Path

    outs = sorted((Path(__file__).parent / "fixtures" / "training").glob("step_*.out.py"))
    assert len(outs) >= 4
    for out in outs:
        compile(out.read_text(encoding="utf-8"), str(out), "exec")
