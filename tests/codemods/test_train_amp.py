"""Mixed precision in converted training scripts (codemods/rules/training.py MB420/MB421,
backends/mindspore/compat_train.GradScaler): what MindSpore runs, measured against torch.

MindSpore runs a converted script in fp32: `with torch.autocast(...)` is dropped and GradScaler is
an identity. (a) With autocast off, an enabled GradScaler changes nothing, on torch (fp32 loss
scaling by a power of two is exact) and on MindSpore. (b) The documented limitation: a script that
trains under CPU autocast (float16 or bfloat16) with an enabled GradScaler converts with a warning at
each of them and runs; its losses are torch's fp32 losses (within 1e-5), not torch's autocast losses.
Measured (torch 2.13 CPU, MindSpore 2.10 CPU, AdamW, 3 steps): torch's autocast losses differ from
its fp32 losses by up to 3.2e-4 (float16) and 1.9e-3 (bfloat16), weights by rel L2 7e-4 / 2e-3.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from codemods import convert_source
from ms_exec import ms_env  # noqa: F401 - fixture

SCRIPT = '''
import numpy as np
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
with torch.no_grad():
    for i, p in enumerate(model.parameters()):
        p.copy_(torch.from_numpy(np.random.default_rng(i).uniform(-0.5, 0.5, tuple(p.shape)).astype(np.float32)))
optimizer = torch.optim.AdamW(model.parameters(), lr=0.05, weight_decay=0.1)
scaler = torch.amp.GradScaler("cpu", enabled=True)
losses = []
for it in range(3):
    batch = np.random.default_rng(100 + it).standard_normal((3, 4)).astype(np.float32)
    x, y = torch.from_numpy(batch), torch.from_numpy(np.tanh(batch[:, :2]))
    with AUTOCAST:
        loss = ((model(x) - y) ** 2).mean()
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    losses.append(loss.item())
weights = [p.detach().numpy() if hasattr(p, "detach") else p.asnumpy() for p in model.parameters()]
'''
OFF = 'torch.autocast("cpu", enabled=False)'


def _without_scaler(source: str) -> str:
    """The same script with plain loss.backward() / optimizer.step() and no GradScaler."""
    out = (source.replace('scaler = torch.amp.GradScaler("cpu", enabled=True)\n', "")
           .replace("scaler.scale(loss).backward()", "loss.backward()")
           .replace("scaler.step(optimizer)", "optimizer.step()").replace("    scaler.update()\n", ""))
    assert "scaler" not in out
    return out


def _run(code: str) -> tuple[np.ndarray, list]:
    ns: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, "train.py", "exec"), ns)
    return np.array(ns["losses"]), ns["weights"]


def _weights_close(got, want, rel=1e-5) -> bool:
    return all(np.linalg.norm(a - b) <= rel * np.linalg.norm(b) for a, b in zip(got, want))


@pytest.fixture(scope="module")
def torch_fp32(ms_env):
    """torch's run with autocast off and no scaler: the reference both tests compare with."""
    return _run(_without_scaler(SCRIPT.replace("AUTOCAST", OFF)))


def test_an_enabled_grad_scaler_in_fp32_changes_nothing(ms_env, torch_fp32):
    source = SCRIPT.replace("AUTOCAST", OFF)
    result = convert_source(source, "train.py")
    assert [(d.code, d.level) for d in result.diagnostics] == [("MB421", "warning")]  # autocast off: no MB420
    t_losses, t_weights = torch_fp32
    s_losses, s_weights = _run(source)  # torch's own scaler in fp32 (measured: bit-identical)
    assert np.allclose(s_losses, t_losses, rtol=1e-5, atol=0) and _weights_close(s_weights, t_weights)
    m_losses, m_weights = _run(result.code)  # measured: losses 1.8e-7 apart, weights rel 4e-7
    assert np.allclose(m_losses, t_losses, rtol=1e-5, atol=0) and _weights_close(m_weights, t_weights)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_autocast_training_runs_in_fp32_on_mindspore(dtype, ms_env, torch_fp32):
    source = SCRIPT.replace("AUTOCAST", f'torch.autocast(device_type="cpu", dtype=torch.{dtype})')
    result = convert_source(source, "train.py")
    assert sorted((d.code, d.level) for d in result.diagnostics) == [("MB420", "warning"), ("MB421", "warning")]
    assert "autocast" not in result.code
    m_losses, m_weights = _run(result.code)
    t_losses, t_weights = torch_fp32
    assert np.allclose(m_losses, t_losses, rtol=1e-5, atol=0) and _weights_close(m_weights, t_weights)
    amp_losses, _ = _run(source)  # torch under autocast: measured 3.2e-4 (float16), 1.9e-3 (bfloat16) away
    gap = np.abs(m_losses - amp_losses).max()
    assert 1e-4 < gap < 1e-2, gap  # visible (10x the parity tolerance), and still the same training
